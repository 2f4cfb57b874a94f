//go:build darwin || freebsd

package event

func platformDrivers() []DriverKind { return []DriverKind{DriverKqueue, DriverPoll} }

func newDriver(kind DriverKind, mode WaitMode, nevents int) (Driver, error) {
	switch kind {
	case DriverAuto, DriverKqueue:
		return newKqueue(mode, nevents)
	case DriverPoll:
		return newPoll(mode)
	}
	return nil, ErrUnsupported
}

//go:build linux

package event

func platformDrivers() []DriverKind { return []DriverKind{DriverEpoll, DriverPoll} }

func newDriver(kind DriverKind, mode WaitMode, nevents int) (Driver, error) {
	switch kind {
	case DriverAuto, DriverEpoll:
		return newEpoll(mode, nevents)
	case DriverPoll:
		return newPoll(mode)
	}
	return nil, ErrUnsupported
}

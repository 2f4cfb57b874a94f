//go:build !linux && !darwin && !freebsd

package event

func platformDrivers() []DriverKind { return nil }

func newDriver(DriverKind, WaitMode, int) (Driver, error) { return nil, ErrUnsupported }

package perf

import (
	"errors"
	"fmt"
	"sort"
	"sync"
)

// ErrExists is returned by Collection.Add for a section name in use.
var ErrExists = errors.New("perf: section name in use")

// Section is what a Collection reads; *Logger is one.
type Section interface {
	Name() string
	Descs() []Desc
	Read() []Value
}

// Reading is one section's values at one moment.
type Reading struct {
	Name   string
	Descs  []Desc
	Values []Value
}

// Collection is every section of a process (Ceph's
// PerfCountersCollection). Safe from any goroutine; a nil Collection
// holds nothing and ignores Add and Remove, so code can register
// unconditionally.
type Collection struct {
	mu       sync.Mutex
	sections map[string]Section
}

// NewCollection returns an empty Collection.
func NewCollection() *Collection { return &Collection{sections: map[string]Section{}} }

// Add registers s under its name.
func (c *Collection) Add(s Section) error {
	if c == nil {
		return nil
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if _, ok := c.sections[s.Name()]; ok {
		return fmt.Errorf("%w: %q", ErrExists, s.Name())
	}
	c.sections[s.Name()] = s
	return nil
}

// UniqueName returns name, or name with "-2", "-3"... appended if name
// is taken, for sections of several instances (two messengers, say).
func (c *Collection) UniqueName(name string) string {
	if c == nil {
		return name
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	n := name
	for i := 2; ; i++ {
		if _, ok := c.sections[n]; !ok {
			return n
		}
		n = fmt.Sprintf("%s-%d", name, i)
	}
}

// Remove unregisters s, if it is the section registered under its name.
func (c *Collection) Remove(s Section) {
	if c == nil {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.sections[s.Name()] == s {
		delete(c.sections, s.Name())
	}
}

// Read returns every section's values, sorted by name as perf dump
// prints them.
func (c *Collection) Read() []Reading {
	if c == nil {
		return nil
	}
	c.mu.Lock()
	ss := make([]Section, 0, len(c.sections))
	for _, s := range c.sections {
		ss = append(ss, s)
	}
	c.mu.Unlock()
	sort.Slice(ss, func(i, j int) bool { return ss[i].Name() < ss[j].Name() })
	rs := make([]Reading, len(ss))
	for i, s := range ss {
		rs[i] = Reading{Name: s.Name(), Descs: s.Descs(), Values: s.Read()}
	}
	return rs
}

// String is the compact perf dump JSON, which makes a Collection an
// expvar.Var: expvar.Publish("ceph", coll) shows it under /debug/vars.
func (c *Collection) String() string { return string(AppendDump(nil, c.Read(), "", "")) }

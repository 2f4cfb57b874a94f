package bench

import (
	"os"
	"runtime"
	"runtime/pprof"
	"time"
)

// Probe brackets a workload's timed window: the workload calls started
// right before its first message and ended right after its last answer,
// so that connection setup and teardown stay out of the figures.
type Probe struct {
	Progress *Progress // may be nil
	Desc     string
	// Profile, when set, is where a CPU profile of the window goes.
	Profile string
	// HeapProfile, when set, is where a heap profile taken at the end
	// of the window goes (what the busy connections hold).
	HeapProfile string
	// ProfileErr is why a profile could not be taken.
	ProfileErr error
	stopProf   func()

	before, after ProcSample
	sampler       *Sampler
	peakRSS       int64
	peakG         int
}

func (p *Probe) started(l *closedLoop) {
	p.Progress.Case(p.Desc, l)
	if p.Profile != "" {
		p.stopProf, p.ProfileErr = profile(p.Profile)
	}
	p.before = ReadProc()
	p.sampler = StartSampler(100 * time.Millisecond)
}

func (p *Probe) ended() {
	p.after = ReadProc()
	if p.HeapProfile != "" {
		if err := WriteHeap(p.HeapProfile); err != nil && p.ProfileErr == nil {
			p.ProfileErr = err
		}
	}
	if p.stopProf != nil {
		p.stopProf()
		p.stopProf = nil
	}
	if p.sampler != nil {
		p.peakRSS, p.peakG = p.sampler.Stop()
		p.sampler = nil
	}
	// The sampler and progress goroutines are not the workload's.
	if p.Progress != nil {
		p.peakG--
	}
}

// finish fills r's derived figures from what the probe saw.
func (p *Probe) finish(r *Result, h *Histogram) {
	r.Finish(h, p.before, p.after)
	r.RSS, r.Goroutines = p.peakRSS, max(p.peakG, 0)
}

// settle lets the previous case's garbage go before the next one, so that
// one stack does not pay for another's collections.
func settle() {
	runtime.GC()
}

// profile starts a CPU profile into path; the returned func stops it.
func profile(path string) (func(), error) {
	f, err := os.Create(path)
	if err != nil {
		return nil, err
	}
	if err := pprof.StartCPUProfile(f); err != nil {
		f.Close()
		return nil, err
	}
	return func() {
		pprof.StopCPUProfile()
		f.Close()
	}, nil
}

// WriteHeap writes a heap profile (as of a collection run now) to path.
func WriteHeap(path string) error {
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	runtime.GC()
	err = pprof.Lookup("heap").WriteTo(f, 0)
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	return err
}

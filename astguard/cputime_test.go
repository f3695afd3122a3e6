package astguard

import (
	"syscall"
	"testing"
	"time"
)

// cpuTime returns the CPU time (user+system) this process has used. The
// shared 2-core test machines are often loaded several times over, which
// inflates wall-clock ns/op; CPU time per operation is the figure that
// survives contention, so benchmarks report both.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// cpuMeter reports cpu-ns per unit at the end of a benchmark.
type cpuMeter struct {
	b     *testing.B
	start time.Duration
}

func startCPU(b *testing.B) *cpuMeter {
	b.ResetTimer()
	return &cpuMeter{b: b, start: cpuTime()}
}

// report adds the metric "cpu-ns/<unit>" for n units of work.
func (m *cpuMeter) report(n int, unit string) {
	if n > 0 {
		m.b.ReportMetric(float64((cpuTime()-m.start).Nanoseconds())/float64(n), "cpu-ns/"+unit)
	}
}

// Package prometheus exposes a perf.Collection as Prometheus metrics,
// named as Ceph's mgr prometheus module names perf counters:
// ceph_<section>_<counter> with ".", "/", white space and "::" as "_",
// "+" as "_plus", "-" as "_" (a trailing one as "_minus"); averages as
// <name>_sum and <name>_count counters; times in seconds; one label,
// ceph_daemon.
//
// It is a module of its own so that the Prometheus client reaches only
// programs that import it.
package prometheus

import (
	"regexp"
	"strings"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/gomsgr/msgr/perf"
)

// Collector is a prometheus.Collector over a perf.Collection. It is
// unchecked (Describe sends nothing): sections come and go with
// messengers and connections.
type Collector struct {
	coll   *perf.Collection
	daemon string
}

// NewCollector reads coll at every scrape; daemon is the ceph_daemon
// label's value, the entity name ("client.admin").
func NewCollector(coll *perf.Collection, daemon string) *Collector {
	return &Collector{coll: coll, daemon: daemon}
}

// Describe sends nothing: the collector is unchecked.
func (c *Collector) Describe(chan<- *prometheus.Desc) {}

// Collect reads every counter.
func (c *Collector) Collect(ch chan<- prometheus.Metric) {
	labels := []string{"ceph_daemon"}
	for _, r := range c.coll.Read() {
		for i, d := range r.Descs {
			v := r.Values[i]
			name := Name(r.Name, d.Name)
			switch d.Kind {
			case perf.Counter:
				ch <- prometheus.MustNewConstMetric(prometheus.NewDesc(name, d.Description, labels, nil), prometheus.CounterValue, float64(v.Sum), c.daemon)
			case perf.Gauge:
				ch <- prometheus.MustNewConstMetric(prometheus.NewDesc(name, d.Description, labels, nil), prometheus.GaugeValue, float64(v.Sum), c.daemon)
			case perf.Time:
				ch <- prometheus.MustNewConstMetric(prometheus.NewDesc(name, d.Description, labels, nil), prometheus.GaugeValue, float64(v.Sum)/1e9, c.daemon)
			case perf.TimeAvg, perf.U64Avg:
				sum := float64(v.Sum)
				if d.Kind == perf.TimeAvg {
					sum /= 1e9
				}
				ch <- prometheus.MustNewConstMetric(prometheus.NewDesc(name+"_sum", d.Description+" Total", labels, nil), prometheus.CounterValue, sum, c.daemon)
				ch <- prometheus.MustNewConstMetric(prometheus.NewDesc(name+"_count", d.Description+" Count", labels, nil), prometheus.CounterValue, float64(v.Count), c.daemon)
			}
		}
	}
}

var illegal = regexp.MustCompile(`[./\s]|::`)

// Name is the metric name of counter in section, as the mgr module's
// promethize makes it from "section.counter".
func Name(section, counter string) string {
	s := illegal.ReplaceAllString(section+"."+counter, "_")
	s = strings.ReplaceAll(s, "+", "_plus")
	if strings.HasSuffix(s, "-") {
		s = s[:len(s)-1] + "_minus"
	} else {
		s = strings.ReplaceAll(s, "-", "_")
	}
	return "ceph_" + s
}

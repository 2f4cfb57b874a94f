import re, sys
# ab-bench.sh runs labelled x16: per round/build, eventloop and gonet msgs/s, p99, p99/p50, CPUs/1k, runq, idleP, steal at 4K x1 and x16.
def dur(x):
    m = re.match(r'([\d.]+)(µs|ms|s)', x); return float(m.group(1)) * {'µs': 1e-3, 'ms': 1, 's': 1e3}[m.group(2)]
def k(x):
    return float(x[:-1]) * 1000 if x.endswith('k') else float(x)
for b in re.split(r'^### ', open(sys.argv[1]).read(), flags=re.M)[1:]:
    hdr = b.split('\n', 1)[0]
    m = re.match(r'round (\d) (\w+) x16 (\S+) load (\S+)', hdr)
    if not m:
        continue
    r, build, t, load = m.groups()
    st = {}
    for line in b.split('\n'):
        f = line.split()
        if len(f) >= 17 and f[0] in ('eventloop', 'gonet', 'raw') and f[2] == '4K':
            st[(f[0], f[3])] = f
    for conns in ('1', '16'):
        e, g = st.get(('eventloop', conns)), st.get(('gonet', conns))
        if not e or not g:
            continue
        print(f'r{r} {build:3} L{load} 4K x{conns:2} el {k(e[6])/1000:.1f}k p99 {e[10]} p99/p50 {dur(e[10])/dur(e[9]):.1f} cpu {e[12]} | gonet {k(g[6])/1000:.1f}k p99 {g[10]} | el/gonet {k(e[6])/k(g[6]):.2f} | steal {e[16]} runq {e[17]} idleP {e[18]}')

import re,sys
# Parses ab-bench.sh runs labelled "depth D": per round/build/depth, eventloop % of raw, CPU/raw, p99/p50.
txt=open(sys.argv[1]).read()
def dur(x):
    m=re.match(r'([\d.]+)(µs|ms|s)',x); u={'µs':1e-3,'ms':1,'s':1e3}[m.group(2)]; return float(m.group(1))*u
rows={}
for b in re.split(r'^### ',txt,flags=re.M)[1:]:
    hdr=b.split('\n',1)[0]
    r,build,d,t,load=re.match(r'round (\d) (\w+) d(\d) (\S+) load (\S+)',hdr).groups()
    raw={}; el={}
    for line in b.split('\n'):
        f=line.split()
        if len(f)>=17 and f[0] in('eventloop','raw'):
            key=(f[2],f[3])
            if f[0]=='raw': raw[key]=f
            else: el[(f[1],)+key]=f
    for (mode,size,conns),f in el.items():
        w=raw[(size,conns)]
        pct=float(f[8])/float(w[8])*100; cpu=float(f[12])/float(w[12]); tail=dur(f[10])/dur(f[9])
        rows.setdefault((mode,size,conns,d),[]).append((r,build,load,pct,cpu,tail,f[16],f[15]))
for k in sorted(rows):
    print('%-6s %-4s x%s d%s |'%k, '  '.join('r%s %s L%s %.0f%% cpu%.2f t%.1f st%s rss%s'%x for x in rows[k]))

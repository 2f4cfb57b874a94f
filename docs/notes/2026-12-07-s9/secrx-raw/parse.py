import re,sys
# Parses ab-bench.sh runs: per case, each run's eventloop MB/s, % of raw, CPUs/1k (eventloop, raw), p99/p50, load; then medians per build.
import statistics as S
def dur(x):
    m=re.match(r'([\d.]+)(µs|ms|s)',x); u={'µs':1e-3,'ms':1,'s':1e3}[m.group(2)]; return float(m.group(1))*u
rows={}
for fn in sys.argv[1:]:
  txt=open(fn).read()
  for b in re.split(r'^### ',txt,flags=re.M)[1:]:
    hdr=b.split('\n',1)[0]
    r,build,lab,t,load=re.match(r'round (\d) (\w+) (.*?) (\d\d:\d\d:\d\d) load (\S+)',hdr).groups()
    raw={}; el={}
    for line in b.split('\n'):
        f=line.split()
        if len(f)>=17 and f[0] in('eventloop','raw'):
            key=(f[2],f[3],f[4])
            if f[0]=='raw': raw[key]=f
            else: el[key]=f
    for k,f in el.items():
        w=raw[k]
        rows.setdefault(k,[]).append(dict(r=r,b=build,t=t,L=float(load),mb=float(f[8]),pct=float(f[8])/float(w[8])*100,cpu=float(f[12]),rcpu=float(w[12]),tail=dur(f[10])/dur(f[9]),f=fn))
for k in sorted(rows,key=lambda k:(k[0][-1],int(k[0][:-1]),int(k[1]),int(k[2]))):
    print('== %s x%s d%s'%k)
    for x in rows[k]:
        print('  %s r%s %-4s %s L%.2f  %6.0f MB/s %4.0f%% raw  cpu %.3f raw %.3f (x%.2f)  p99/p50 %.1f'%(x['f'][:8],x['r'],x['b'],x['t'],x['L'],x['mb'],x['pct'],x['cpu'],x['rcpu'],x['cpu']/x['rcpu'],x['tail']))
    for bd in sorted(set(x['b'] for x in rows[k])):
        xs=[x for x in rows[k] if x['b']==bd]
        print('  median %-4s n=%d  %6.0f MB/s %4.0f%% raw  cpu %.3f  x%.2f  p99/p50 %.1f'%(bd,len(xs),S.median(x['mb'] for x in xs),S.median(x['pct'] for x in xs),S.median(x['cpu'] for x in xs),S.median(x['cpu']/x['rcpu'] for x in xs),S.median(x['tail'] for x in xs)))

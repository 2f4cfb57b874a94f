import re,sys
# ab-bench.sh runs of 'x=--size 4K --conns 1,16,256': per round/build and conns,
# eventloop/gonet msgs/s, CPU/1k and their ratio, and the steal/runq/idleP columns.
txt=open(sys.argv[1]).read()
print('| round | build | load | conns | el msgs/s | gonet msgs/s | el/gonet | el CPU/1k | gonet CPU/1k | CPU ratio | el steal/runq/idleP | gonet steal/runq/idleP |')
print('|---|---|---|---|---|---|---|---|---|---|---|---|')
v=lambda x: float(x.replace('k','e3'))
rows=[]
for b in re.split(r'^### ',txt,flags=re.M)[1:]:
    hdr=b.split('\n',1)[0]
    r,build,load=re.match(r'round (\d) (\w+) .*?load (\S+)',hdr).groups()
    d={}
    for line in b.split('\n'):
        f=line.split()
        if len(f)>=17 and f[0] in('eventloop','gonet','raw'):
            d[(f[0],f[3])]=f
    for c in ('1','16','256'):
        e=d.get(('eventloop',c)); g=d.get(('gonet',c))
        if not e or not g: continue
        rows.append((build,c,v(e[6])/v(g[6]),float(e[12])/float(g[12])))
        print(f'| {r} | {build} | {load} | {c} | {e[6]} | {g[6]} | {v(e[6])/v(g[6]):.2f} | {e[12]} | {g[12]} | {float(e[12])/float(g[12]):.2f} | {e[-3]}/{e[-2]}/{e[-1]} | {g[-3]}/{g[-2]}/{g[-1]} |')
import statistics
print()
for build in ('old','new'):
    for c in ('1','16','256'):
        xs=[x for x in rows if x[0]==build and x[1]==c]
        if xs: print(f'{build} x{c}: msgs/s ratio {" ".join("%.2f"%x[2] for x in xs)} (median {statistics.median(x[2] for x in xs):.2f}); CPU ratio {" ".join("%.2f"%x[3] for x in xs)} (median {statistics.median(x[3] for x in xs):.2f})')

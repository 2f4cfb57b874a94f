import re,sys
# ab-bench.sh hook runs: per round/build, 4K el/gonet msgs/s + CPU/1k, 4M % of raw + CPU/raw, steal.
txt=open(sys.argv[1]).read()
print('| round | build | load | 4K x1 el/gonet msgs/s (CPU/1k el, gonet) | 4K x16 el/gonet (CPU) | 4M x1 el % raw (CPU/raw) | 4M x16 el % raw (CPU/raw) | steal |')
print('|---|---|---|---|---|---|---|---|')
for b in re.split(r'^### ',txt,flags=re.M)[1:]:
    hdr=b.split('\n',1)[0]
    r,build,load=re.match(r'round (\d) (\w+) .*?load (\S+)',hdr).groups()
    steal=re.search(r'CPU steal (\S+);',b).group(1)
    d={}
    for line in b.split('\n'):
        f=line.split()
        if len(f)>=17 and f[0] in('eventloop','gonet','raw'):
            d[(f[0],f[2],f[3])]=f
    v=lambda x: float(x.replace('k','e3'))
    out=[f'| {r} | {build} | {load} |']
    for c in ('1','16'):
        e=d[('eventloop','4K',c)]; g=d[('gonet','4K',c)]
        out.append(f' {e[6]}/{g[6]} = **{v(e[6])/v(g[6]):.2f}** ({e[12]}, {g[12]}) |')
    for c in ('1','16'):
        e=d[('eventloop','4M',c)]; w=d[('raw','4M',c)]
        out.append(f' {float(e[8])/float(w[8])*100:.0f}% ({float(e[12])/float(w[12]):.2f}) |')
    out.append(f' {steal} |')
    print(''.join(out))

import re,sys
# ab-bench.sh default runs: per round/build, eventloop/gonet msgs/s (CPU per msg el/gonet) at 4K x1/16/256, % of raw at 64K/4M x1, steal.
txt=open(sys.argv[1]).read()
print('| round | build | load | 4K x1 el/gonet (CPU el/gonet) | 4K x16 | 4K x256 | 64K x1 el % raw | 4M x1 el % raw | steal |')
print('|---|---|---|---|---|---|---|---|---|')
v=lambda x: float(x.replace('k','e3'))
for b in re.split(r'^### ',txt,flags=re.M)[1:]:
    hdr=b.split('\n',1)[0]
    r,build,load=re.match(r'round (\d) (\w+) .*?load (\S+)',hdr).groups()
    steal=re.search(r'CPU steal (\S+);',b).group(1)
    d={}
    for line in b.split('\n'):
        f=line.split()
        if len(f)>=17 and f[0] in('eventloop','gonet','raw'):
            d[(f[0],f[2],f[3])]=f
    out=[f'| {r} | {build} | {load} |']
    for c in ('1','16','256'):
        e=d[('eventloop','4K',c)]; g=d[('gonet','4K',c)]
        out.append(f' {v(e[6])/v(g[6]):.2f} ({float(e[12])/float(g[12]):.2f}) |')
    for s in ('64K','4M'):
        e=d[('eventloop',s,'1')]; w=d[('raw',s,'1')]
        out.append(f' {100*v(e[6])/v(w[6]):.0f}% |')
    out.append(f' {steal} |')
    print(''.join(out))

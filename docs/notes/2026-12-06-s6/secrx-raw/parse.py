import sys,re
hdr=None; el=None
rows=[]
for line in open(sys.argv[1]):
    if line.startswith('###'):
        m=re.match(r'### round (\d+) (\w+) depth (\d+) (\S+) load (\S+) \S+ \S+ vmstat-st (\d+)',line)
        hdr=m.groups(); continue
    f=line.split()
    if not f or f[0] not in ('eventloop','raw'): continue
    if f[0]=='eventloop': el=f; continue
    raw=f
    size,conns,depth=el[2],el[3],el[4]
    mbs=float(el[8]); rmbs=float(raw[8]); cpu=float(el[12]); rcpu=float(raw[12])
    p50,p99=el[9],el[10]
    steal=el[-1]
    rows.append((hdr[0],hdr[1],size,conns,depth,hdr[4],steal,mbs,rmbs,mbs/rmbs*100,cpu,rcpu,cpu/rcpu,p50,p99))
print("| round | build | size | conns | depth | load | steal | MB/s | raw MB/s | % raw | CPU ms/msg | raw CPU ms/msg | CPU/raw | p50 | p99 |")
print("|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|")
for r in sorted(rows,key=lambda r:(r[2],int(r[3]),int(r[4]),r[0],r[1])):
    print("| %s | %s | %s | %s | %s | %s | %s | %.0f | %.0f | %.0f%% | %.3f | %.3f | %.2f | %s | %s |"%r)
# medians
import statistics as st
print()
print("| size | conns | depth | old % raw | new % raw | old CPU/raw | new CPU/raw | old CPU ms | new CPU ms |")
print("|---|---|---|---|---|---|---|---|---|")
keys=sorted(set((r[2],int(r[3]),int(r[4])) for r in rows))
for k in keys:
    def med(b,i): 
        v=[r[i] for r in rows if (r[2],int(r[3]),int(r[4]))==k and r[1]==b]
        return "%.2f"%st.median(v) if v else "-"
    print("| %s | %d | %d | %s | %s | %s | %s | %s | %s |"%(k[0],k[1],k[2],med('old',9),med('new',9),med('old',12),med('new',12),med('old',10),med('new',10)))

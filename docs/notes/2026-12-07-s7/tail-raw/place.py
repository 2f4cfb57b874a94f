import sys,re
lines=open(sys.argv[1]).read().splitlines()
loc={}
for l in lines:
    if l.startswith('PLACE'):
        _,w,a,b=l.split(); loc[(a,b)]=w
split=same=0
for (a,b),w in loc.items():
    if (b,a) in loc and a<b:
        if loc[(b,a)]==w: same+=1
        else: split+=1
res=[l for l in lines if l.strip().startswith('eventloop ')]
print("same",same,"split",split,"|",res[-1].split()[7:12] if res else None, res[-1].split()[-2:] if res else None)

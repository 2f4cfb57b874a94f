import re, sys
# splitbig.py IN OUT: keeps the "depth D" runs of an ab-bench.sh file (parse-big.py reads only those).
t = open(sys.argv[1]).read()
open(sys.argv[2], 'w').write(''.join(b for b in re.split(r'^(?=### )', t, flags=re.M) if ' depth ' in b.split('\n')[0]))

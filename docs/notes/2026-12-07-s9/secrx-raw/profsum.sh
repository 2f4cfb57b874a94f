#!/bin/sh
# profsum.sh PROFILE MSGS: ms per message in the hot functions of a bench CPU profile.
p=$1 n=$2
go tool pprof -top -nodecount=200 /tmp/msgr-secrx "$p" 2>/dev/null | awk -v n="$n" '
/Total samples/ {for(i=1;i<=NF;i++) if($i=="=") {t=$(i+1); sub("s","",t); printf "total %.3f ms/msg  ", t*1000/n}}
function ms(x){ if (x ~ /ms$/) {sub("ms","",x); return x/1000} sub("s","",x); return x }
$NF ~ /Syscall6$|sealAVX512$|openAVX512$|runtime.memmove$|memclrNoHeapPointers$|ghash|Stream..Update$|GCM..Open$|Decoder..next$/ {printf "%s flat %.3f cum %.3f  ", $NF, ms($1)*1000/n, ms($4)*1000/n}
END {print ""}' | sed 's/github.com\/gomsgr\/msgr\///g'

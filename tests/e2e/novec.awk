# novec.awk - reads `objdump -d` of libfntrace.so and walks the
# direct calls and jumps from the functions named in ROOTS (a space
# separated list).  Prints, for every function reached:
#   reach NAME
#   plt SYMBOL NAME     NAME calls SYMBOL through the PLT (outside the .so)
#   indirect NAME       NAME makes an indirect call (not followed)
# and "missing NAME" for a root that is not in the disassembly.
# Used by novec.sh.
/^[0-9a-f]+ <[^>]+>:$/ {
	fn = substr($2, 2, length($2) - 3)
	defined[fn] = 1
	next
}
fn != "" && /\t(call|j[a-z]+) +[0-9a-f]+ </ {
	t = $0
	sub(/.*</, "", t)
	sub(/>.*/, "", t)
	if (t !~ /\+0x/ && t != fn)
		edges[fn] = edges[fn] " " t
	next
}
fn != "" && /\t(call|jmp) +\*/ { indirect[fn] = 1 }
END {
	n = split(ROOTS, q, " ")
	for (i = 1; i <= n; i++) {
		if (!(q[i] in defined)) { print "missing " q[i]; continue }
		seen[q[i]] = 1
	}
	for (i = 1; i <= n; i++) {
		f = q[i]
		if (!(f in seen)) continue
		print "reach " f
		if (f in indirect) print "indirect " f
		m = split(edges[f], e, " ")
		for (j = 1; j <= m; j++) {
			t = e[j]
			if (t ~ /@plt$/) {
				b = t; sub(/@plt$/, "", b)
				if (!(b in defined)) { print "plt " b " " f; continue }
				t = b
			}
			if (!(t in seen) && (t in defined)) { seen[t] = 1; q[++n] = t }
		}
	}
}

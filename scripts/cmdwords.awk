# scripts/cmdwords.awk - prints the first word of every command of the
# shell scripts it reads (tests/e2e/deps.sh maps them to packages).  A
# small scanner, not a shell parser: it follows single and double quotes
# (text in them is not a command, $( ) in double quotes is), $( ), ( ),
# backquotes, ; | & { }, comments and here-documents; after a command
# start it skips $(( )), case labels, keywords, VAR=value, env and timeout's options.
function start() { if (cur != "") emit(cur); cur = ""; collecting = 1 }
function emit(s,    m, w, j) {
	m = split(s, w, /[ \t]+/); j = 1
	while (j <= m && (w[j] == "" || w[j] ~ /^(if|then|else|elif|do|while|until|!|time|exec|command|nohup|env|-[A-Za-z]+|[A-Za-z_][A-Za-z0-9_]*=.*|[0-9]+)$/)) j++
	if (j <= m && w[j] == "timeout") { print "timeout"; j++; while (j <= m && (w[j] ~ /^-/ || w[j] ~ /^[0-9"$]/)) j++ }
	if (j <= m && w[j] ~ /^[A-Za-z][A-Za-z0-9_.+-]*$/) print w[j]
}
BEGIN { mode = "N"; sp = 0 }
FNR == 1 { mode = "N"; sp = 0; hd = ""; cur = ""; collecting = 1 }
hd != "" { if ($0 ~ "^[ \t]*" hd "$") { hd = ""; collecting = 1; cur = "" } next }
{
	line = $0
	if (mode == "N" && match(line, /<<-?[ \t]*['"]?[A-Za-z_]+/)) {
		nexthd = substr(line, RSTART, RLENGTH); sub(/^<<-?[ \t]*['"]?/, "", nexthd)
	} else nexthd = ""
	n = length(line)
	for (i = 1; i <= n; i++) {
		c = substr(line, i, 1); c2 = substr(line, i, 2)
		if (mode == "A") { if (c == "(") depth++; else if (c == ")" && --depth == 0) mode = "N"; continue }
		if (mode == "S") { if (c == "'") mode = stk[sp--]; continue }
		if (mode == "D") {
			if (c == "\\") { i++; continue }
			if (c == "\"") { mode = stk[sp--]; continue }
			if (c2 == "$(") { stk[++sp] = "D"; mode = "N"; i++; start(); continue }
			if (c == "`") { stk[++sp] = "D"; mode = "N"; start(); continue }
			continue
		}
		# mode N
		if (c == "\\") { i++; continue }
		if (c == "'") { stk[++sp] = "N"; mode = "S"; if (collecting) cur = cur "x"; continue }
		if (c == "\"") { stk[++sp] = "N"; mode = "D"; if (collecting) cur = cur "x"; continue }
		if (c == "#" && (i == 1 || substr(line, i - 1, 1) ~ /[ \t;]/)) break
		if (substr(line, i, 3) == "$((") { mode = "A"; depth = 2; i += 2; continue }
		if (c2 == "$(") { stk[++sp] = "N"; i++; start(); continue }
		if (c == "(") { stk[++sp] = "N"; start(); continue }
		# A ")" that closes nothing ends a case label: not a command.
		if (c == ")") { if (sp > 0) mode = stk[sp--]; else cur = ""; start(); continue }
		if (c == "`") { if (sp > 0 && stk[sp] == "D") { mode = stk[sp--] } else start(); continue }
		if (c ~ /[;|&{}]/) { start(); continue }
		if (collecting) cur = cur c
	}
	if (mode == "N") start()
	if (nexthd != "") hd = nexthd
}
END { if (cur != "") emit(cur) }

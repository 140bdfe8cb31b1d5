// gen_script N: prints an N-line pidsh script mixing every statement form (lets,
// expressions, ifs with blocks, loops, pipelines with globs and redirections, spawns,
// comments), for the parser benchmark. Deterministic: the same N, the same text.
#include <stdio.h>
#include <stdlib.h>

int main(int argc, char **argv) {
    long n = argc > 1 ? atol(argv[1]) : 10000;
    for (long i = 0; i < n; i++) {
        switch (i % 8) {
        case 0: printf("let x%ld = $i + %ld * (3 - 1)\n", i, i); break;
        case 1: printf("if $x == %ld and not $done { echo \"value $x.pid ${x}\" } else { ls -d /proc/[1-9]* | head -n 1 > /dev/null }\n", i); break;
        case 2: printf("for j in 0..3 { let s = $s + $j }\n"); break;
        case 3: printf("let child%ld = spawn --newpid --mount-proc /tmp/p%ld sleep 600\n", i, i); break;
        case 4: printf("# a comment, line %ld\n", i); break;
        case 5: printf("try kill -TERM $child 2>&1\n"); break;
        case 6: printf("expect $(pids $child | wc -w) >= 2 \"nested %ld\"\n", i); break;
        default: printf("ps --ns $ns -o pid,ppid,stat,cmd | grep -c sleep\n"); break;
        }
    }
    return 0;
}

/// `help` for the language itself: its keywords and forms, beside the builtins. Each
/// entry names the section of docs/language.md that has the rest.
struct LanguageTopic {
    var name: String
    /// Other words that find it (`else` finds `if`, `|` finds pipes).
    var aliases: [String] = []
    var synopsis: String
    var summary: String
    var examples: [String]
    /// The section of docs/language.md.
    var section: String

    static let all: [LanguageTopic] = [
        LanguageTopic(name: "let", synopsis: "let NAME = COMMAND-or-EXPRESSION",
                      summary: "Set a variable: to a command's value (a builtin's: a process, a namespace, a list...) or output text (a def's, a program's), or to an expression's value. A right side that starts with a bare word is a command, so text needs quotes: `let x = \"abc\"`. The command's status goes to `$?`; a failing one stops the script unless under `try`.",
                      examples: ["let ns = ns new", "let child = spawn --newpid sleep 600", "let kernel = uname -r", "let n = $n + 1"],
                      section: "let"),
        LanguageTopic(name: "if", aliases: ["else"], synopsis: "if CONDITION { ... } [else { ... } | else if CONDITION { ... }]",
                      summary: "Run a block when the condition holds: an expression (true unless false, 0, empty or nothing) or a command (status 0). A command that fails in a condition is \"false\", not an error. `else` follows the `}` on the same line.",
                      examples: ["if $child.nspid == 1 { echo \"PID 1\" } else { echo other }", "if ! grep -q x /tmp/f { echo \"no x\" }"],
                      section: "if-while"),
        LanguageTopic(name: "while", synopsis: "while CONDITION { ... }",
                      summary: "Run the block as long as the condition holds (an expression, or a command's status 0). The block shares the enclosing scope.",
                      examples: ["while $n < 3 { let n = $n + 1 }", "while ! ps --ns $ns -C sleep | grep -q sleep { sleep 0.01 }"],
                      section: "if-while"),
        LanguageTopic(name: "for", aliases: ["in"], synopsis: "for NAME in WORDS... { ... }  |  for NAME in EXPRESSION { ... }",
                      summary: "Run the block once per item: shell words (globs expanded) when a bare word follows `in`; otherwise a list's or a range's elements, or text's lines (text is never split at blanks). A process or a namespace is a type error: use its fields, or a list.",
                      examples: ["for k in 0..4 { echo $k }", "for f in /proc/[0-9]* { echo $f }", "for ns in $levels { echo $ns.level }"],
                      section: "for"),
        LanguageTopic(name: "repeat", synopsis: "repeat N { ... }",
                      summary: "Run the block N times; N is an expression giving an integer of 0 or more (or text that reads as one); anything else, a process included, is a type error.",
                      examples: ["repeat 3 { spawn --ns $ns sleep 600 }"], section: "repeat"),
        LanguageTopic(name: "def", synopsis: "def NAME PARAM... { ... }",
                      summary: "Define a user command, called like a builtin with its arguments in the parameters (and `$args`, `$1`..`$9`). Its body has its own scope; a command that fails in it ends it. It returns no value: under `let`, its output text.",
                      examples: ["def lsproc DIR { for d in $DIR/[1-9]* { echo $d } }", "lsproc /proc2"], section: "def"),
        LanguageTopic(name: "try", synopsis: "try COMMAND  |  try let NAME = ...",
                      summary: "Run the command; when it fails, print its error, set `$?` (127 for a command not found, 126 for one that cannot be executed, 1 for another error) and go on (a script otherwise stops at the first failure). A failed `expect` and `exit` are not caught.",
                      examples: ["try kill -TERM $ns", "try unshare --pid", "echo $?"], section: "try"),
        LanguageTopic(name: "expect", synopsis: "expect EXPRESSION [\"message\"]",
                      summary: "An assertion: when the expression is false the script stops with a located error showing both sides of a comparison — the values compared: each operand is evaluated once — and exit code 3.",
                      examples: ["expect $child.nspid == 1", "expect $levels.length == 5 \"five levels\""], section: "expect"),
        LanguageTopic(name: "inside", synopsis: "inside NS|PROCESS { ... }",
                      summary: "Run the block in a new pidsh that is a member of that PID namespace (started through setns, with a /proc of its own), so builtins act from inside: `kill -KILL 1` is a kill from the init's own namespace, `ps` and `$$` number as the namespace does. The block reads the values of the variables it names and sets variables here (processes it started come back as handles); output keeps its order, `$?` is the block's status, its errors are located in the block.",
                      examples: ["inside $ns { kill -KILL 1 }", "inside $ns { kill -USR1 -1 }", "inside $ns { ps; pids $$ }", "inside $ns { let p = spawn sleep 600 }"],
                      section: "inside"),
        LanguageTopic(name: "trap", synopsis: "trap SIG... { ... }  |  trap SIG... -  |  trap",
                      summary: "Handle a signal sent to pidsh itself: the block runs between statements when SIG arrives (and a `wait` ends early for it); `-` gives SIG back to pidsh's default (stop on SIGINT/SIGTERM/SIGHUP, the kernel's for the others); `trap` alone lists the traps.",
                      examples: ["trap USR1 { echo \"got USR1\" }", "trap TERM { echo bye; exit 0 }", "trap USR1 -", "wait --timeout 5"],
                      section: "trap"),
        LanguageTopic(name: "pipes", aliases: ["|", "pipe", "pipeline", "!"], synopsis: "COMMAND | COMMAND ...  |  ! COMMAND",
                      summary: "Connect one command's standard output to the next one's input; builtins, defs and programs mix freely. The pipeline's status is its last command's; `!` first negates it (0 <-> 1).",
                      examples: ["ps --mine | grep sleep", "ns tree --dot | dot -Tpng > tree.png", "if ! test -e /proc2 { echo gone }"],
                      section: "pipelines"),
        LanguageTopic(name: "redirections", aliases: [">", ">>", "<", "2>", "2>&1", "redirection"],
                      synopsis: "COMMAND > FILE | >> FILE | < FILE | 2> FILE | 2>&1",
                      summary: "Send a command's standard output to a file (`>` truncates, `>>` appends), read its input from a file (`<`), send its errors to a file (`2>`) or to where its output goes (`2>&1`). A builtin's error message follows its `2>`.",
                      examples: ["ps --mine > /tmp/ps.txt", "grep NSpid < /proc/self/status", "try kill $p 2> /dev/null", "sh -c 'echo oops >&2' 2>&1 | cat"],
                      section: "redirections"),
        LanguageTopic(name: "command", synopsis: "command NAME ARG...",
                      summary: "Run NAME from $PATH, skipping the builtins and defs of that name (`command kill -9 1234` runs kill(1)).",
                      examples: ["command ps -ef", "command kill -l"], section: "lookup"),
        LanguageTopic(name: "variables", aliases: ["$", "substitutions", "fields"],
                      synopsis: "$NAME  $NAME.FIELD  ${EXPRESSION}  $(COMMAND)  $?  $$  $1..$9  $args",
                      summary: "Read a variable (or, when the script has none of that name, an environment variable), a field of a value, an expression's value, a command's output text, the last status, pidsh's PID, or the script's arguments. A variable is one argument: never split at blanks.",
                      examples: ["echo $child.pid $child.nspid", "echo ${n + 1}", "let k = $(uname -r)", "echo $HOME"],
                      section: "substitutions"),
        LanguageTopic(name: "comments", aliases: ["#", "#:", "#>", "#test:", "narration"],
                      synopsis: "# text  |  #: narration  |  #> expected output  |  #test: directive",
                      summary: "Comments start with `#`; a line starting `#:` is narration (printed by --narrate and --step), `#>` lines after a statement are the output `pidsh test` expects from it, and `#test:` lines tell `pidsh test` how to run the script (docs/tutorials.md).",
                      examples: ["#: 1.1 The child is PID 1", "echo hi", "#> hi", "#test: skip-unless root"],
                      section: "comments-and-narration"),
    ]

    static func find(_ word: String) -> LanguageTopic? {
        all.first { $0.name == word || $0.aliases.contains(word) }
    }

    /// `help NAME` for a topic, wrapped to `width`.
    func usage(width: Int) -> String {
        var s = HelpText.wrap(synopsis, width: width, indent: "         ", firstIndent: "usage: ") + "\n"
        s += HelpText.wrap(summary, width: width, indent: "  ") + "\n"
        if !aliases.isEmpty { s += "also: help " + aliases.joined(separator: ", ") + "\n" }
        s += "examples:\n" + examples.map { "  " + $0 }.joined(separator: "\n") + "\n"
        s += "more: docs/language.md#\(section)\n"
        return s
    }
}

/// Text wrapped to a width at word boundaries, with an indent for every line (and a
/// different one for the first, for a hanging indent). A word longer than a line is
/// left whole.
enum HelpText {
    static func wrap(_ text: String, width: Int, indent: String, firstIndent: String? = nil) -> String {
        var lines: [String] = []
        var line = firstIndent ?? indent
        var lineHasWord = false
        for word in text.split(separator: " ", omittingEmptySubsequences: true) {
            if lineHasWord && line.count + 1 + word.count > width {
                lines.append(line)
                line = indent
                lineHasWord = false
            }
            line += (lineHasWord ? " " : "") + word
            lineHasWord = true
        }
        lines.append(line)
        return lines.joined(separator: "\n")
    }
}

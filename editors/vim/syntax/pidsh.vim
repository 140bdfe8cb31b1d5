" Vim syntax file
" Language:   pidsh (a scriptable shell for Linux PID namespaces)
" Filenames:  *.pidsh
" Reference:  docs/language.md, docs/commands.md
"
" Install: copy (or symlink) editors/vim/syntax, ftdetect and ftplugin into
" ~/.vim/ (or ~/.config/nvim/), or add editors/vim to 'runtimepath'.

if exists('b:current_syntax')
  finish
endif

let s:cpo_save = &cpo
set cpo&vim

syn case match

" --- comments and narration -------------------------------------------------
" `#:` first on its line is narration (printed under --narrate/--step); any
" other `#` at the start of a word begins a comment.
syn match   pidshComment      "\%(^\|\s\|;\)\zs#.*$" contains=pidshTodo,@Spell
syn match   pidshNarration    "^\s*#:.*$" contains=@Spell
syn keyword pidshTodo         TODO FIXME XXX NOTE contained
syn match   pidshShebang      "\%^#!.*$"

" --- keywords and statements ------------------------------------------------
syn keyword pidshKeyword      let if else while for in repeat def try expect
syn keyword pidshBoolean      true false
syn keyword pidshLogic        and or not
syn match   pidshDefName      "\%(\<def\s\+\)\@<=[A-Za-z_][A-Za-z0-9_-]*"
syn match   pidshLetName      "\%(\<\%(let\|for\)\s\+\)\@<=[A-Za-z_][A-Za-z0-9_]*"

" --- builtins (the table of docs/commands.md) --------------------------------
" Only in command position: at the start of a line, after `;`, `|`, `{`, `!`,
" `=` (a let's right side), or a keyword that takes a command.
syn match   pidshBuiltin      "\%(\%(^\|[;|{!=]\|\<\%(try\|if\|while\|else\|command\)\)\s*\)\@<=\<\%(echo\|cd\|exit\|source\|help\|show\|spawn\|unshare\|setns\|umount\|nest\|kill\|wait\|ps\|pids\)\>"
syn match   pidshBuiltin      "\%(\%(^\|[;|{!=]\|\<\%(try\|if\|while\|else\|command\)\)\s*\)\@<=\<ns\>\%(\s\+\%(new\|list\|tree\|id\)\>\)\="
syn match   pidshBuiltin      "\%(\%(^\|[;|{!=]\|\<\%(try\|if\|while\|else\|command\)\)\s*\)\@<=\<mount\s\+proc\>"
syn match   pidshCommandKw    "\%(\%(^\|[;|{!=]\|\<\%(try\|if\|while\|else\)\)\s*\)\@<=\<command\>"

" --- words ------------------------------------------------------------------
syn match   pidshOption       "\%(^\|\s\)\zs--\?[A-Za-z][A-Za-z0-9-]*\%(=\S*\)\="
syn match   pidshNumber       "\<-\=\d\+\>"
syn match   pidshRange        "\.\."
syn match   pidshOperator     "==\|!=\|<=\|>=\|\s\zs[<>+*/%-]\ze\s"
syn match   pidshRedirect     "2>&1\|2>\|>>\|[<>]"
syn match   pidshPipe         "|"
syn match   pidshBang         "\%(\%(^\|[;{=]\|\<if\|\<while\|\<try\)\s*\)\@<=!\ze\s"
syn match   pidshGlob         "\S\@<=[*?]\|[*?]\S\@=\|\[[^]\s,]*\]"
syn match   pidshEscape       "\\." contained
syn match   pidshBareEscape   "\\."
syn match   pidshContinuation "\\$"

" --- substitutions ----------------------------------------------------------
" $name, $name.field.field, $? $$ $0..$9, $args, ${expr}, $(commands)
syn match   pidshVariable     "\$[A-Za-z_][A-Za-z0-9_]*" nextgroup=pidshField
syn match   pidshField        "\%(\.[A-Za-z_][A-Za-z0-9_]*\)\+" contained
syn match   pidshSpecial      "\$[?$0-9]"
syn match   pidshSpecial      "\$args\>"
syn region  pidshExprSubst    matchgroup=pidshSubstDelim start="\${" end="}" contains=pidshNumber,pidshOperator,pidshRange,pidshDString,pidshSString,pidshVariable,pidshSpecial,pidshBoolean,pidshLogic,pidshList,pidshParen,pidshExprName
syn match   pidshExprName     "\<[A-Za-z_][A-Za-z0-9_]*\%(\.[A-Za-z_][A-Za-z0-9_]*\)*" contained contains=pidshBoolean,pidshLogic
syn region  pidshCmdSubst     matchgroup=pidshSubstDelim start="\$(" end=")" contains=TOP
syn region  pidshParen        start="(" end=")" contained transparent contains=pidshNumber,pidshOperator,pidshRange,pidshDString,pidshSString,pidshVariable,pidshSpecial,pidshBoolean,pidshLogic,pidshList,pidshParen,pidshExprName
syn region  pidshList         matchgroup=pidshDelimiter start="\%(^\|[[:space:]=(\[,]\)\@<=\[" end="\]" transparent contains=pidshNumber,pidshOperator,pidshRange,pidshDString,pidshSString,pidshVariable,pidshSpecial,pidshBoolean,pidshLogic,pidshList

" --- strings ------------------------------------------------------------------
syn region  pidshSString      start=+'+ end=+'+
syn region  pidshDString      start=+"+ skip=+\\\\\|\\"+ end=+"+ contains=pidshEscape,pidshVariable,pidshSpecial,pidshExprSubst,pidshCmdSubst,@Spell

" --- blocks -------------------------------------------------------------------
syn match   pidshBrace        "[{}]"

" --- links --------------------------------------------------------------------
hi def link pidshNarration    SpecialComment
hi def link pidshComment      Comment
hi def link pidshTodo         Todo
hi def link pidshShebang      PreProc
hi def link pidshKeyword      Statement
hi def link pidshCommandKw    Statement
hi def link pidshBoolean      Boolean
hi def link pidshLogic        Operator
hi def link pidshDefName      Function
hi def link pidshLetName      Identifier
hi def link pidshBuiltin      Function
hi def link pidshOption       Special
hi def link pidshNumber       Number
hi def link pidshRange        Operator
hi def link pidshOperator     Operator
hi def link pidshRedirect     Operator
hi def link pidshPipe         Operator
hi def link pidshBang         Operator
hi def link pidshGlob         Special
hi def link pidshEscape       SpecialChar
hi def link pidshBareEscape   SpecialChar
hi def link pidshContinuation SpecialChar
hi def link pidshVariable     Identifier
hi def link pidshField        Type
hi def link pidshSpecial      Identifier
hi def link pidshSubstDelim   Delimiter
hi def link pidshExprName     Identifier
hi def link pidshDelimiter    Delimiter
hi def link pidshSString      String
hi def link pidshDString      String
hi def link pidshBrace        Delimiter

let b:current_syntax = 'pidsh'

let &cpo = s:cpo_save
unlet s:cpo_save

/// The lexer's output. Which kinds appear depends on the mode the parser asks for:
/// command mode yields shell words and redirections, expression mode yields operators.
public enum TokenKind: Equatable, Sendable {
    // both modes
    case newline, semicolon, leftBrace, rightBrace, eof
    case narration(String)            // `#: text` line
    // command mode
    case word(Word)
    case pipe                         // |
    case redirect(RedirectKind)       // > >> < 2> 2>&1
    case bang                         // ! at a command's start
    // expression mode
    case integer(Int)
    case string(Word)                 // "..." or '...' (parts)
    case variable(Word)               // $x, $x.f, ${expr}, $(cmd), $?, $$, $1
    case identifier(String)           // bare word: true, false, and, or, not, others
    case op(String)                   // == != < <= > >= + - * / % .. ( ) [ ] , =
}

public struct Token: Equatable, Sendable {
    public var kind: TokenKind
    public var location: SourceLocation
}

public enum RedirectKind: String, Equatable, Sendable {
    case output = ">", append = ">>", input = "<", error = "2>", errorToOutput = "2>&1"
}

/// A shell word: literal pieces and substitutions, expanded at run time.
public struct Word: Equatable, Sendable {
    public var parts: [WordPart]
    public var location: SourceLocation

    /// The word's text when it is only literal characters (nil otherwise).
    public var literalText: String? {
        var s = ""
        for p in parts {
            guard case .literal(let t, _) = p else { return nil }
            s += t
        }
        return s
    }

    /// A bare, unquoted literal (a keyword candidate).
    public var bareText: String? {
        guard parts.count == 1, case .literal(let t, let quoted) = parts[0], !quoted else { return nil }
        return t
    }
}

public enum WordPart: Equatable, Sendable {
    /// Text; `quoted` text never globs.
    case literal(String, quoted: Bool)
    /// $name.field.field
    case variable(name: String, fields: [String], location: SourceLocation)
    /// ${expr}
    case expression(Expr)
    /// $(statements)
    case commandSubstitution([Statement], location: SourceLocation)
    /// $? $$ $1..$9 $args
    case special(String, location: SourceLocation)
}

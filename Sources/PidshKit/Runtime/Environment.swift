/// Variables. Blocks of if/while/for/repeat share their enclosing scope (as in sh);
/// a `def` body gets a scope of its own whose parent is the global one.
public final class Scope {
    var values: [String: Value] = [:]
    let parent: Scope?

    public init(parent: Scope?) { self.parent = parent }

    public func lookup(_ name: String) -> Value? {
        var s: Scope? = self
        while let cur = s {
            if let v = cur.values[name] { return v }
            s = cur.parent
        }
        return nil
    }

    /// `let`: updates the variable where it lives, or creates it here.
    public func assign(_ name: String, _ value: Value) {
        var s: Scope? = self
        while let cur = s {
            if cur.values[name] != nil { cur.values[name] = value; return }
            s = cur.parent
        }
        values[name] = value
    }

    public func define(_ name: String, _ value: Value) { values[name] = value }

    public var allNames: [String] {
        var names = Set<String>()
        var s: Scope? = self
        while let cur = s { names.formUnion(cur.values.keys); s = cur.parent }
        return names.sorted()
    }
}

/// A user command made with `def`.
public struct UserCommand {
    public var name: String
    public var parameters: [String]
    public var body: [Statement]
    public var location: SourceLocation
}

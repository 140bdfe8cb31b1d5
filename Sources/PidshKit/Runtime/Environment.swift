/// Variables. Blocks of if/while/for/repeat share their enclosing scope (as in sh);
/// a `def` body gets a scope of its own whose parent is the global one.
public final class Scope {
    /// A variable's storage: found by name once, then read and written in place.
    /// Variables are never removed, so a slot stays valid as long as its scope.
    private final class Slot {
        var value: Value
        init(_ value: Value) { self.value = value }
    }

    // Private, so the compiler can check exclusive access statically (no runtime
    // access tracking on the interpreter's hottest path).
    private var slots: [String: Slot] = [:]
    let parent: Scope?
    // The two slots found here last, with their names: a loop reads and writes the same
    // few names over and over, and comparing a short name is cheaper than hashing it.
    // `slots` keeps every slot alive for the scope's lifetime, so these are unretained.
    private var recentName0 = "", recentName1 = ""
    private var recentSlot0: Unmanaged<Slot>?, recentSlot1: Unmanaged<Slot>?

    public init(parent: Scope?) { self.parent = parent }

    /// The slot of `name` in this scope only.
    @inline(__always)
    private func slot(_ name: String) -> Unmanaged<Slot>? {
        if let s = recentSlot0, name == recentName0 { return s }
        if let s = recentSlot1, name == recentName1 {
            swap(&recentName0, &recentName1)
            swap(&recentSlot0, &recentSlot1)
            return s
        }
        guard let found = slots[name] else { return nil }
        let s = Unmanaged.passUnretained(found)
        recentName1 = recentName0
        recentSlot1 = recentSlot0
        recentName0 = name
        recentSlot0 = s
        return s
    }

    public func lookup(_ name: String) -> Value? {
        // This scope first, without walking (and retaining) the chain.
        if let s = slot(name) { return s._withUnsafeGuaranteedRef { $0.value } }
        var p = parent
        while let cur = p {
            if let s = cur.slot(name) { return s._withUnsafeGuaranteedRef { $0.value } }
            p = cur.parent
        }
        return nil
    }

    /// `let`: updates the variable where it lives, or creates it here.
    public func assign(_ name: String, _ value: Value) {
        if let s = slot(name) { s._withUnsafeGuaranteedRef { $0.value = value }; return }
        var p = parent
        while let cur = p {
            if let s = cur.slot(name) { s._withUnsafeGuaranteedRef { $0.value = value }; return }
            p = cur.parent
        }
        slots[name] = Slot(value)
    }

    public func define(_ name: String, _ value: Value) {
        if let s = slot(name) { s._withUnsafeGuaranteedRef { $0.value = value } } else { slots[name] = Slot(value) }
    }

    public var allNames: [String] {
        var names = Set<String>()
        var s: Scope? = self
        while let cur = s { names.formUnion(cur.slots.keys); s = cur.parent }
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

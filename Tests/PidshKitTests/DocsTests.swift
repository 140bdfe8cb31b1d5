import Foundation
import XCTest
@testable import PidshKit

/// The command reference is generated from the builtin table; these tests fail when
/// docs/commands.md or the man page's COMMANDS section no longer match the table, or
/// when a builtin or an option lacks its entry. Regenerate with
///   swift run pidsh docs commands > docs/commands.md
///   swift run pidsh docs man --update docs/pidsh.1
final class DocsTests: XCTestCase {
    /// The package root: Tests/PidshKitTests/DocsTests.swift, three levels up.
    static let root: URL = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()

    func read(_ relative: String) throws -> String {
        let url = Self.root.appendingPathComponent(relative)
        guard let text = try? String(contentsOf: url, encoding: .utf8) else {
            XCTFail("\(relative) is missing")
            throw XCTSkip("no \(relative)")
        }
        return text
    }

    let table = BuiltinTable.standard

    func testCommandsMarkdownMatchesTheTable() throws {
        let file = try read("docs/commands.md")
        let generated = BuiltinDocs.markdown(table)
        if file != generated {
            let a = file.split(separator: "\n", omittingEmptySubsequences: false)
            let b = generated.split(separator: "\n", omittingEmptySubsequences: false)
            let i = (0..<min(a.count, b.count)).first { a[$0] != b[$0] } ?? min(a.count, b.count)
            XCTFail("""
                docs/commands.md is out of date with the builtin table (first difference at line \(i + 1):
                  file:      \(i < a.count ? String(a[i]) : "<end>")
                  generated: \(i < b.count ? String(b[i]) : "<end>")
                run `swift run pidsh docs commands > docs/commands.md`
                """)
        }
    }

    /// Every builtin has a section, and every option of it appears in that section.
    func testEveryBuiltinAndOptionIsDocumented() throws {
        let file = try read("docs/commands.md")
        let sections = Self.sections(of: file)
        for spec in table.specs {
            guard let body = sections[spec.name] else {
                XCTFail("docs/commands.md has no `## \(spec.name)` section")
                continue
            }
            XCTAssertTrue(body.contains(spec.synopsis), "\(spec.name): synopsis missing from its section")
            XCTAssertTrue(body.contains("Returns: "), "\(spec.name): no Returns line")
            XCTAssertTrue(file.contains("(#\(BuiltinDocs.anchor(spec.name)))"), "\(spec.name): not in the index")
            for o in spec.options {
                XCTAssertTrue(body.contains("`\(o.usage)`"), "\(spec.name): option \(o.usage) is not documented")
                for a in o.aliases {
                    XCTAssertTrue(body.contains("`\(a)`"), "\(spec.name): alias \(a) of \(o.name) is not documented")
                }
            }
            for e in spec.examples { XCTAssertTrue(body.contains(e), "\(spec.name): example `\(e)` missing") }
            for e in spec.errors { XCTAssertTrue(body.contains(e), "\(spec.name): error `\(e)` missing") }
        }
        // No section for a builtin that no longer exists.
        let names = Set(table.specs.map { $0.name })
        for name in sections.keys { XCTAssertTrue(names.contains(name), "docs/commands.md documents `\(name)`, which is no builtin") }
    }

    /// The table itself is complete: each builtin says what it returns and shows how it
    /// is used; each option explains itself.
    func testTableEntriesAreComplete() {
        for spec in table.specs {
            XCTAssertFalse(spec.synopsis.isEmpty, "\(spec.name): no synopsis")
            XCTAssertFalse(spec.summary.isEmpty, "\(spec.name): no summary")
            XCTAssertFalse(spec.returns.isEmpty, "\(spec.name): no returns text")
            XCTAssertFalse(spec.examples.isEmpty, "\(spec.name): no examples")
            XCTAssertTrue(spec.synopsis.hasPrefix(spec.name), "\(spec.name): synopsis does not start with the name")
            for o in spec.options {
                XCTAssertFalse(o.help.isEmpty, "\(spec.name) \(o.name): no help")
                XCTAssertTrue(spec.synopsis.contains(o.name), "\(spec.name): option \(o.name) is not in the synopsis")
            }
        }
    }

    func testManPageCommandsSectionMatchesTheTable() throws {
        let page = try read("docs/pidsh.1")
        guard let section = BuiltinDocs.manSection(in: page) else {
            return XCTFail("docs/pidsh.1 has no generated COMMANDS section (\(BuiltinDocs.manBegin))")
        }
        XCTAssertEqual(section, BuiltinDocs.manSection(table),
                       "the COMMANDS section of docs/pidsh.1 is out of date: run `swift run pidsh docs man --update docs/pidsh.1`")
        for spec in table.specs {
            XCTAssertTrue(section.contains(".SS \"\(spec.name)\""), "docs/pidsh.1 lacks \(spec.name)")
        }
    }

    /// Every `help` topic of the language points at a section of docs/language.md that
    /// exists (by its GitHub anchor).
    func testLanguageHelpPointsAtRealSections() throws {
        let text = try read("docs/language.md")
        let anchors = Set(text.split(separator: "\n").filter { $0.hasPrefix("#") && $0.contains("# ") }.map { line -> String in
            let title = line.drop(while: { $0 == "#" }).trimmingCharacters(in: .whitespaces).lowercased()
            return String(title.compactMap { c -> Character? in
                if c == " " { return "-" }
                return c.isLetter || c.isNumber || c == "-" || c == "_" ? c : nil
            })
        })
        for topic in LanguageTopic.all {
            XCTAssertTrue(anchors.contains(topic.section), "help \(topic.name): no section #\(topic.section) in docs/language.md")
        }
    }

    func testSplicingReplacesOnlyTheGeneratedSection() {
        let page = ".TH X 1\n.SH NAME\nx\n\(BuiltinDocs.manBegin)\nold\n\(BuiltinDocs.manEnd)\n.SH SEE ALSO\ny\n"
        let out = BuiltinDocs.splicingManSection(into: page, table: table)
        XCTAssertNotNil(out)
        XCTAssertTrue(out!.hasPrefix(".TH X 1\n.SH NAME\nx\n" + BuiltinDocs.manBegin))
        XCTAssertTrue(out!.hasSuffix(BuiltinDocs.manEnd + "\n.SH SEE ALSO\ny\n"))
        XCTAssertFalse(out!.contains("\nold\n"))
        XCTAssertNil(BuiltinDocs.splicingManSection(into: ".TH X 1\n", table: table))
    }

    /// docs/commands.md split at `## NAME` headings.
    static func sections(of text: String) -> [String: String] {
        var out: [String: String] = [:]
        var current: String?
        var body = ""
        for line in text.split(separator: "\n", omittingEmptySubsequences: false) {
            if line.hasPrefix("## ") {
                if let current { out[current] = body }
                current = String(line.dropFirst(3))
                body = ""
            } else {
                body += line + "\n"
            }
        }
        if let current { out[current] = body }
        return out
    }
}

package kaimport

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
)

// Stmt is one keepalived statement: its words, where it stands, and the
// statements of its block if it opens one.
type Stmt struct {
	Words    []string
	File     string
	Line     int
	Children []*Stmt
	HasBlock bool
}

// Key is the statement's keyword ("" for an empty statement).
func (s *Stmt) Key() string {
	if len(s.Words) == 0 {
		return ""
	}
	return s.Words[0]
}

// Args are the words after the keyword.
func (s *Stmt) Args() []string {
	if len(s.Words) == 0 {
		return nil
	}
	return s.Words[1:]
}

type tokKind int

const (
	tokWord tokKind = iota
	tokOpen
	tokClose
	tokEOL
)

type token struct {
	kind tokKind
	text string
	file string
	line int
}

// maxIncludeDepth bounds include recursion (keepalived allows a few levels;
// a loop must end with an error, not a stack overflow).
const maxIncludeDepth = 8

// lexFile tokenizes a file, splicing in the files its include lines name.
func lexFile(path string, depth int) ([]token, error) {
	if depth > maxIncludeDepth {
		return nil, fmt.Errorf("%s: includes nested deeper than %d (a loop?)", path, maxIncludeDepth)
	}
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	return lex(path, string(data), depth)
}

func lex(file, src string, depth int) ([]token, error) {
	var out []token
	for i, raw := range strings.Split(src, "\n") {
		line := i + 1
		words, err := splitLine(raw)
		if err != nil {
			return nil, fmt.Errorf("%s:%d: %w", file, line, err)
		}
		if len(words) >= 1 && words[0] == "include" {
			if len(words) != 2 {
				return nil, fmt.Errorf("%s:%d: include takes one file name or glob", file, line)
			}
			pattern := words[1]
			if !filepath.IsAbs(pattern) {
				pattern = filepath.Join(filepath.Dir(file), pattern)
			}
			matches, err := filepath.Glob(pattern)
			if err != nil {
				return nil, fmt.Errorf("%s:%d: include %q: %w", file, line, words[1], err)
			}
			for _, m := range matches {
				toks, err := lexFile(m, depth+1)
				if err != nil {
					return nil, fmt.Errorf("%s:%d: include: %w", file, line, err)
				}
				out = append(out, toks...)
			}
			continue
		}
		for _, w := range words {
			k := tokWord
			switch w {
			case "{":
				k = tokOpen
			case "}":
				k = tokClose
			}
			out = append(out, token{kind: k, text: w, file: file, line: line})
		}
		out = append(out, token{kind: tokEOL, file: file, line: line})
	}
	return out, nil
}

// splitLine splits a line into words: braces are words of their own, "#" and
// "!" start a comment, double quotes group words.
func splitLine(s string) ([]string, error) {
	var words []string
	var cur strings.Builder
	inWord, inQuote := false, false
	flush := func() {
		if inWord {
			words = append(words, cur.String())
			cur.Reset()
			inWord = false
		}
	}
	for _, r := range s {
		switch {
		case inQuote:
			if r == '"' {
				inQuote = false
				continue
			}
			cur.WriteRune(r)
		case r == '"':
			inQuote, inWord = true, true
		case r == '#' || r == '!':
			if !inWord {
				flush()
				return words, nil
			}
			cur.WriteRune(r)
		case r == '{' || r == '}':
			flush()
			words = append(words, string(r))
		case r == ' ' || r == '\t' || r == '\r':
			flush()
		default:
			cur.WriteRune(r)
			inWord = true
		}
	}
	if inQuote {
		return nil, fmt.Errorf("unterminated quote")
	}
	flush()
	return words, nil
}

// parse builds the statement tree of a token stream.
func parse(toks []token) ([]*Stmt, error) {
	p := &parser{toks: toks}
	stmts, err := p.block(false)
	if err != nil {
		return nil, err
	}
	return stmts, nil
}

type parser struct {
	toks []token
	pos  int
}

func (p *parser) block(nested bool) ([]*Stmt, error) {
	var stmts []*Stmt
	var cur *Stmt
	for p.pos < len(p.toks) {
		t := p.toks[p.pos]
		p.pos++
		switch t.kind {
		case tokWord:
			if cur == nil {
				cur = &Stmt{File: t.file, Line: t.line}
			}
			cur.Words = append(cur.Words, t.text)
		case tokEOL:
			if cur != nil {
				stmts = append(stmts, cur)
				cur = nil
			}
		case tokOpen:
			owner := cur
			if owner == nil { // "{" on a line of its own opens the previous statement's block
				if len(stmts) == 0 || stmts[len(stmts)-1].HasBlock {
					return nil, fmt.Errorf("%s:%d: '{' without a statement before it", t.file, t.line)
				}
				owner = stmts[len(stmts)-1]
			} else {
				stmts = append(stmts, owner)
				cur = nil
			}
			kids, err := p.block(true)
			if err != nil {
				return nil, err
			}
			owner.Children, owner.HasBlock = kids, true
		case tokClose:
			if !nested {
				return nil, fmt.Errorf("%s:%d: '}' without an open block", t.file, t.line)
			}
			if cur != nil {
				stmts = append(stmts, cur)
			}
			return stmts, nil
		}
	}
	if nested {
		return nil, fmt.Errorf("unexpected end of file: a block is not closed")
	}
	return stmts, nil
}

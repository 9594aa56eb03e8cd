package keepalivedconf

import (
	"context"
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

// lexer turns files into one token stream, following include lines and
// keeping or dropping keepalived's conditional lines (@ID, @^ID).
type lexer struct {
	ctx      context.Context
	configID string
	out      []token
	lines    int // lines read, to poll ctx every few thousand
}

// lexFile tokenizes a file, splicing in the files its include lines name.
func (lx *lexer) lexFile(path string, depth int) error {
	if depth > maxIncludeDepth {
		return fmt.Errorf("%s: includes nested deeper than %d (a loop?)", path, maxIncludeDepth)
	}
	data, err := os.ReadFile(path)
	if err != nil {
		return err
	}
	return lx.lex(path, string(data), depth)
}

func (lx *lexer) lex(file, src string, depth int) error {
	for line := 1; len(src) > 0; line++ {
		raw, rest, _ := strings.Cut(src, "\n")
		src = rest
		if lx.lines++; lx.lines%4096 == 0 && lx.ctx.Err() != nil {
			return lx.ctx.Err()
		}
		raw, keep := lx.conditional(raw)
		if !keep {
			continue
		}
		words, err := splitLine(raw)
		if err != nil {
			return fmt.Errorf("%s:%d: %w", file, line, err)
		}
		if len(words) > 0 && (strings.HasPrefix(words[0], "$") || strings.HasPrefix(words[0], "~SEQ")) {
			// keepalived's parameter substitution and sequences: a
			// converter that kept "$NAME" as a literal would write it
			// into the configuration, so refuse rather than guess.
			return fmt.Errorf("%s:%d: %q: keepalived parameter substitution ($NAME=..., ~SEQ) is not supported: expand the configuration first", file, line, words[0])
		}
		if len(words) >= 1 && words[0] == "include" {
			if err := lx.include(file, line, words, depth); err != nil {
				return err
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
			lx.out = append(lx.out, token{kind: k, text: w, file: file, line: line})
		}
		lx.out = append(lx.out, token{kind: tokEOL, file: file, line: line})
	}
	return nil
}

// conditional applies keepalived's conditional configuration: a line
// starting "@ID" is read only when keepalived runs with config id ID (-i,
// default the host name), "@^ID" only when it does not.
func (lx *lexer) conditional(raw string) (string, bool) {
	t := strings.TrimLeft(raw, " \t")
	if !strings.HasPrefix(t, "@") {
		return raw, true
	}
	id, rest, _ := strings.Cut(t[1:], " ")
	if i := strings.IndexByte(id, '\t'); i >= 0 {
		id, rest = id[:i], id[i+1:]+" "+rest
	}
	if neg, ok := strings.CutPrefix(id, "^"); ok {
		return rest, neg != lx.configID
	}
	return rest, id == lx.configID
}

// include splices in every file a glob names, relative to the including
// file's directory as keepalived does. A name that matches nothing is an
// error: keepalived would run without those lines, and so would the
// converted configuration, silently.
func (lx *lexer) include(file string, line int, words []string, depth int) error {
	if len(words) != 2 {
		return fmt.Errorf("%s:%d: include takes one file name or glob", file, line)
	}
	pattern := words[1]
	if !filepath.IsAbs(pattern) {
		pattern = filepath.Join(filepath.Dir(file), pattern)
	}
	matches, err := filepath.Glob(pattern)
	if err != nil {
		return fmt.Errorf("%s:%d: include %q: %w", file, line, words[1], err)
	}
	if len(matches) == 0 {
		return fmt.Errorf("%s:%d: include %q: no such file (looked for %s)", file, line, words[1], pattern)
	}
	for _, m := range matches {
		if err := lx.lexFile(m, depth+1); err != nil {
			return fmt.Errorf("%s:%d: include: %w", file, line, err)
		}
	}
	return nil
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
	return parseContext(context.Background(), toks)
}

func parseContext(ctx context.Context, toks []token) ([]*Stmt, error) {
	p := &parser{toks: toks, ctx: ctx}
	stmts, err := p.block(false)
	if err != nil {
		return nil, err
	}
	return stmts, nil
}

type parser struct {
	ctx  context.Context
	toks []token
	pos  int
}

func (p *parser) block(nested bool) ([]*Stmt, error) {
	var stmts []*Stmt
	var cur *Stmt
	for p.pos < len(p.toks) {
		t := p.toks[p.pos]
		p.pos++
		if p.pos%65536 == 0 && p.ctx.Err() != nil {
			return nil, p.ctx.Err()
		}
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

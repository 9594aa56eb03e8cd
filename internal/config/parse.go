package config

import (
	"errors"
	"fmt"
	"os"
	"strings"

	"github.com/goccy/go-yaml"
	"github.com/goccy/go-yaml/ast"
	"github.com/goccy/go-yaml/parser"
)

// Error is one problem in a configuration file, located by file, line and field.
type Error struct {
	File  string
	Line  int    // 0 when unknown
	Field string // YAML path such as instances[0].vrid; empty for syntax errors
	Msg   string
}

func (e *Error) Error() string {
	var b strings.Builder
	b.WriteString(e.File)
	if e.Line > 0 {
		fmt.Fprintf(&b, ":%d", e.Line)
	}
	if e.Field != "" {
		fmt.Fprintf(&b, ": %s", e.Field)
	}
	fmt.Fprintf(&b, ": %s", e.Msg)
	return b.String()
}

// Errors is every problem found in one file; Parse reports them all at once so
// an operator fixes a config in one round.
type Errors []*Error

func (es Errors) Error() string {
	s := make([]string, len(es))
	for i, e := range es {
		s[i] = e.Error()
	}
	return strings.Join(s, "\n")
}

// Load reads and parses the file at path.
func Load(path string) (*Config, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("config: %w", err)
	}
	return Parse(path, b)
}

// Parse decodes and validates a configuration. name is used in errors only.
// Unknown fields are errors: a typo must not silently fall back to a default.
func Parse(name string, data []byte) (*Config, error) {
	var c Config
	file, err := parser.ParseBytes(data, 0)
	if err != nil {
		return nil, Errors{syntaxError(name, err)}
	}
	v := &validator{name: name, file: file, lines: map[string]int{}}
	decode(v, &c)
	if len(v.errs) > 0 {
		return nil, v.errs
	}
	c.explicitZeros(v)
	c.applyDefaults()
	c.validate(v)
	if len(v.errs) > 0 {
		return nil, v.errs
	}
	c.source, c.lines = name, v.lines
	return &c, nil
}

// Validate applies the defaults to c and validates it, as Parse does after
// decoding, for a configuration built in code (vrrpctl import-keepalived
// builds one and writes it out). Errors name fields but no lines. c is
// changed: call it after writing c out, if the defaults are to stay implicit.
func Validate(name string, c *Config) error {
	v := &validator{name: name, lines: map[string]int{}}
	c.applyDefaults()
	c.validate(v)
	if len(v.errs) > 0 {
		return v.errs
	}
	c.source, c.lines = name, v.lines
	return nil
}

func syntaxError(name string, err error) *Error {
	e := &Error{File: name, Msg: err.Error()}
	var se yaml.Error
	if errors.As(err, &se) {
		if tk := se.GetToken(); tk != nil && tk.Position != nil {
			e.Line = tk.Position.Line
		}
		e.Msg = se.GetMessage()
	}
	return e
}

// validator collects semantic errors and finds the line of each field.
type validator struct {
	name string
	file *ast.File
	errs Errors
	// lines holds the line of every field the decoder saw, by path.
	lines map[string]int
}

// errorf records a problem with the field at path, given in YAML path syntax
// without the leading "$." (for example "instances[0].vrid").
func (v *validator) errorf(path, format string, args ...any) {
	v.errs = append(v.errs, &Error{File: v.name, Line: v.line(path), Field: path, Msg: fmt.Sprintf(format, args...)})
}

// line returns the line of path, or of its nearest existing parent when the
// field is absent (a missing field is reported where it should have been).
func (v *validator) line(path string) int {
	for p := path; p != ""; p = parent(p) {
		if l, ok := v.lines[p]; ok {
			return l
		}
	}
	return 0
}

func parent(p string) string {
	i := strings.LastIndexAny(p, ".[")
	if i <= 0 {
		return ""
	}
	return p[:i]
}

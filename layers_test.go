package msgr

import (
	"bufio"
	"go/parser"
	"go/token"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
)

const modulePath = "github.com/gomsgr/msgr"

// readmeLayers reads the README's layout table: for each package (relative
// to the module root, "." for the root), the index of its row, 0 at the top.
func readmeLayers(t *testing.T) map[string]int {
	t.Helper()
	f, err := os.Open("README.md")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	pkgRE := regexp.MustCompile("`([^`]+)`")
	layers := map[string]int{}
	in, row := false, 0
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		line := sc.Text()
		if strings.HasPrefix(line, "## Layout") {
			in = true
			continue
		}
		if !in {
			continue
		}
		if strings.HasPrefix(line, "## ") {
			break
		}
		cols := strings.Split(line, "|")
		if len(cols) < 4 || strings.HasPrefix(strings.TrimSpace(cols[1]), "---") || strings.TrimSpace(cols[1]) == "layer" {
			continue
		}
		for _, m := range pkgRE.FindAllStringSubmatch(cols[2], -1) {
			p := m[1]
			if p == "msgr" {
				p = "."
			}
			if prev, dup := layers[p]; dup {
				t.Errorf("README layout: %s is in rows %d and %d", p, prev, row)
			}
			layers[p] = row
		}
		row++
	}
	if len(layers) == 0 {
		t.Fatal("README has no layout table")
	}
	return layers
}

// moduleImports returns, for each package directory of the module with
// non-test Go files, the module packages its non-test files import. Nested
// modules (a go.mod of their own) and testdata are not this module's.
func moduleImports(t *testing.T) map[string]map[string]bool {
	t.Helper()
	pkgs := map[string]map[string]bool{}
	fset := token.NewFileSet()
	err := filepath.WalkDir(".", func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() {
			name := d.Name()
			if path != "." && (name == "testdata" || strings.HasPrefix(name, ".") || strings.HasPrefix(name, "_")) {
				return filepath.SkipDir
			}
			if _, err := os.Stat(filepath.Join(path, "go.mod")); path != "." && err == nil {
				return filepath.SkipDir
			}
			return nil
		}
		if !strings.HasSuffix(path, ".go") || strings.HasSuffix(path, "_test.go") {
			return nil
		}
		f, err := parser.ParseFile(fset, path, nil, parser.ImportsOnly)
		if err != nil {
			return err
		}
		dir := filepath.ToSlash(filepath.Dir(path))
		if pkgs[dir] == nil {
			pkgs[dir] = map[string]bool{}
		}
		for _, imp := range f.Imports {
			p, _ := strconv.Unquote(imp.Path.Value)
			switch {
			case p == modulePath:
				pkgs[dir]["."] = true
			case strings.HasPrefix(p, modulePath+"/"):
				pkgs[dir][strings.TrimPrefix(p, modulePath+"/")] = true
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return pkgs
}

// TestLayersPointDown keeps the README's layout table true: every package
// is in it, and imports go to the same row or a lower one.
func TestLayersPointDown(t *testing.T) {
	layers := readmeLayers(t)
	pkgs := moduleImports(t)
	for dir, imps := range pkgs {
		from, ok := layers[dir]
		if !ok {
			t.Errorf("package %s is not in the README's layout table", dir)
			continue
		}
		for imp := range imps {
			to, ok := layers[imp]
			if ok && to < from {
				t.Errorf("%s (row %d) imports %s (row %d, above it)", dir, from, imp, to)
			}
		}
	}
	for p := range layers {
		if _, ok := pkgs[p]; !ok {
			t.Errorf("README's layout table names %s, which has no Go package", p)
		}
	}
}

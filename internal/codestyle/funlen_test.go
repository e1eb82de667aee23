// Package codestyle_test checks the shape rules of mailwire's code that go
// vet and staticcheck do not (issue 10 §2).
package codestyle_test

import (
	"fmt"
	"go/ast"
	"go/parser"
	"go/token"
	"io/fs"
	"path/filepath"
	"strings"
	"testing"
)

// maxLines is the longest a non-test function may be: a longer one is
// split into steps with names that say what each does.
const maxLines = 120

// dataTables are the functions allowed to be longer because they are a
// plain data table: their body is one return of a composite literal (the
// test checks that too). Key: "path/to/file.go:Func".
var dataTables = map[string]bool{}

// TestNoLongFunctions: no non-test function (or function literal) in the
// tree is longer than maxLines, data tables aside.
func TestNoLongFunctions(t *testing.T) {
	root := "../.."
	fset := token.NewFileSet()
	seen := 0
	err := filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() {
			if n := d.Name(); p != root && (n == "testdata" || strings.HasPrefix(n, ".") || strings.HasPrefix(n, "_")) {
				return filepath.SkipDir
			}
			return nil
		}
		if !strings.HasSuffix(p, ".go") || strings.HasSuffix(p, "_test.go") {
			return nil
		}
		f, err := parser.ParseFile(fset, p, nil, parser.SkipObjectResolution)
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(root, p)
		rel = filepath.ToSlash(rel)
		seen++
		ast.Inspect(f, func(n ast.Node) bool {
			var name string
			var body *ast.BlockStmt
			switch n := n.(type) {
			case *ast.FuncDecl:
				name, body = funcName(n), n.Body
			case *ast.FuncLit:
				name, body = "a function literal", n.Body
			default:
				return true
			}
			if body == nil {
				return true
			}
			lines := fset.Position(body.Rbrace).Line - fset.Position(n.Pos()).Line + 1
			key := rel + ":" + name
			if dataTables[key] {
				if !isDataTable(body) {
					t.Errorf("%s is allowed as a data table but is not one return of a literal", key)
				}
				return true
			}
			if lines > maxLines {
				t.Errorf("%s:%d: %s is %d lines (at most %d outside data tables): split it",
					rel, fset.Position(n.Pos()).Line, name, lines, maxLines)
			}
			return true
		})
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if seen < 100 {
		t.Fatalf("read only %d Go files from %s", seen, root)
	}
}

func funcName(fd *ast.FuncDecl) string {
	if fd.Recv == nil || len(fd.Recv.List) == 0 {
		return fd.Name.Name
	}
	t := fd.Recv.List[0].Type
	if s, ok := t.(*ast.StarExpr); ok {
		t = s.X
	}
	switch x := t.(type) {
	case *ast.IndexExpr:
		t = x.X
	case *ast.IndexListExpr:
		t = x.X
	}
	if id, ok := t.(*ast.Ident); ok {
		return fmt.Sprintf("%s.%s", id.Name, fd.Name.Name)
	}
	return fd.Name.Name
}

// isDataTable: the body is one return of one composite literal.
func isDataTable(body *ast.BlockStmt) bool {
	if len(body.List) != 1 {
		return false
	}
	r, ok := body.List[0].(*ast.ReturnStmt)
	if !ok || len(r.Results) != 1 {
		return false
	}
	_, ok = r.Results[0].(*ast.CompositeLit)
	return ok
}

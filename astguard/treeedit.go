package astguard

// This file works around a bug in the pinned go-tree-sitter binding: its
// EditInput-to-C conversion copies OldEndPoint into new_end_point, so every
// Tree.Edit that changes the number of lines or the length of the last line
// leaves wrong row/column positions in the edited tree. Byte offsets stay
// right, but external scanners that ask for the column (Python's indentation
// scanner does) then misparse after an incremental edit. We call the C
// function ts_tree_edit ourselves with the correct struct; the symbol is
// linked in from go-tree-sitter's own cgo objects. TestEditFixesNewEndPoint
// fails if this is ever removed while the binding still has the bug.

/*
#include <stdint.h>
typedef struct { uint32_t row; uint32_t column; } agPoint;
typedef struct {
  uint32_t start_byte;
  uint32_t old_end_byte;
  uint32_t new_end_byte;
  agPoint start_point;
  agPoint old_end_point;
  agPoint new_end_point;
} agInputEdit;
struct TSTree;
void ts_tree_edit(struct TSTree *self, const void *edit);
static void ag_tree_edit(void *tree, agInputEdit e) { ts_tree_edit((struct TSTree *)tree, &e); }
*/
import "C"

import (
	"unsafe"

	sitter "github.com/smacker/go-tree-sitter"
)

// baseTreeLayout mirrors the first field of sitter.BaseTree (c *C.TSTree).
type baseTreeLayout struct{ c unsafe.Pointer }

// editTree applies e to t with the correct new end point.
func editTree(t *sitter.Tree, e sitter.EditInput) {
	ptr := (*baseTreeLayout)(unsafe.Pointer(t.BaseTree)).c
	C.ag_tree_edit(ptr, C.agInputEdit{
		start_byte:    C.uint32_t(e.StartIndex),
		old_end_byte:  C.uint32_t(e.OldEndIndex),
		new_end_byte:  C.uint32_t(e.NewEndIndex),
		start_point:   C.agPoint{row: C.uint32_t(e.StartPoint.Row), column: C.uint32_t(e.StartPoint.Column)},
		old_end_point: C.agPoint{row: C.uint32_t(e.OldEndPoint.Row), column: C.uint32_t(e.OldEndPoint.Column)},
		new_end_point: C.agPoint{row: C.uint32_t(e.NewEndPoint.Row), column: C.uint32_t(e.NewEndPoint.Column)},
	})
}

package astguard

import (
	"fmt"
	"path/filepath"
	"sort"
	"strings"

	sitter "github.com/smacker/go-tree-sitter"
	"github.com/smacker/go-tree-sitter/c"
	"github.com/smacker/go-tree-sitter/cpp"
	"github.com/smacker/go-tree-sitter/csharp"
	"github.com/smacker/go-tree-sitter/golang"
	"github.com/smacker/go-tree-sitter/java"
	"github.com/smacker/go-tree-sitter/javascript"
	"github.com/smacker/go-tree-sitter/python"
	"github.com/smacker/go-tree-sitter/rust"
	"github.com/smacker/go-tree-sitter/typescript/tsx"
	"github.com/smacker/go-tree-sitter/typescript/typescript"
)

// Language names a supported language by its canonical LSP languageId.
type Language string

// The supported languages. JavaScript covers JSX (tree-sitter-javascript
// parses it), so "javascriptreact" maps to JavaScript; TypeScript with JSX
// needs its own grammar (TSX) because `<T>x` means a cast in .ts files.
const (
	Go         Language = "go"
	Python     Language = "python"
	JavaScript Language = "javascript"
	TypeScript Language = "typescript"
	TSX        Language = "typescriptreact"
	Java       Language = "java"
	C          Language = "c"
	Cpp        Language = "cpp"
	Rust       Language = "rust"
	CSharp     Language = "csharp"
)

// languages lists the supported languages in a stable order.
var languages = []Language{Go, Python, JavaScript, TypeScript, TSX, Java, C, Cpp, Rust, CSharp}

// Languages returns the supported languages (canonical LSP identifiers).
func Languages() []Language { return append([]Language(nil), languages...) }

// aliases maps every accepted LSP languageId to its Language.
var aliases = map[string]Language{
	"go": Go, "python": Python, "javascript": JavaScript, "javascriptreact": JavaScript,
	"typescript": TypeScript, "typescriptreact": TSX, "java": Java, "c": C, "cpp": Cpp,
	"rust": Rust, "csharp": CSharp,
}

// extensions maps lower-case file extensions to languages. ".h" is read as C:
// C++ headers usually use .hpp/.hh, and the C grammar parses most C++-free
// headers; a C++ header read as C shows errors, never a hang.
var extensions = map[string]Language{
	".go": Go, ".py": Python, ".pyi": Python, ".pyw": Python,
	".js": JavaScript, ".mjs": JavaScript, ".cjs": JavaScript, ".jsx": JavaScript,
	".ts": TypeScript, ".mts": TypeScript, ".cts": TypeScript, ".tsx": TSX,
	".java": Java, ".c": C, ".h": C,
	".cc": Cpp, ".cpp": Cpp, ".cxx": Cpp, ".c++": Cpp, ".hpp": Cpp, ".hh": Cpp, ".hxx": Cpp, ".h++": Cpp, ".ipp": Cpp,
	".rs": Rust, ".cs": CSharp,
}

// UnsupportedLanguageError reports a language identifier or file extension
// that astguard cannot parse; its message lists the supported identifiers.
type UnsupportedLanguageError struct{ Name string }

func (e *UnsupportedLanguageError) Error() string {
	return fmt.Sprintf("unsupported language %q (supported: %s)", e.Name, SupportedList())
}

// SupportedList is the comma-separated list of accepted LSP language
// identifiers, for error and help messages.
func SupportedList() string {
	ids := make([]string, 0, len(aliases))
	for id := range aliases {
		ids = append(ids, id)
	}
	sort.Strings(ids)
	return strings.Join(ids, ", ")
}

// LanguageFromID maps an LSP languageId (case-insensitive) to a Language.
func LanguageFromID(id string) (Language, error) {
	if l, ok := aliases[strings.ToLower(strings.TrimSpace(id))]; ok {
		return l, nil
	}
	return "", &UnsupportedLanguageError{Name: id}
}

// LanguageFromPath maps a file name to a Language by its extension.
func LanguageFromPath(path string) (Language, error) {
	ext := strings.ToLower(filepath.Ext(path))
	if l, ok := extensions[ext]; ok {
		return l, nil
	}
	return "", &UnsupportedLanguageError{Name: ext}
}

// Resolve picks the language from the LSP languageId when it is known and
// falls back to the file extension otherwise (clients send ids such as
// "plaintext" for files they do not recognise).
func Resolve(languageID, path string) (Language, error) {
	if l, err := LanguageFromID(languageID); err == nil {
		return l, nil
	}
	if l, err := LanguageFromPath(path); err == nil {
		return l, nil
	}
	name := languageID
	if name == "" {
		name = filepath.Ext(path)
	}
	return "", &UnsupportedLanguageError{Name: name}
}

// grammar returns the tree-sitter grammar of a language.
func (l Language) grammar() (*sitter.Language, error) {
	switch l {
	case Go:
		return golang.GetLanguage(), nil
	case Python:
		return python.GetLanguage(), nil
	case JavaScript:
		return javascript.GetLanguage(), nil
	case TypeScript:
		return typescript.GetLanguage(), nil
	case TSX:
		return tsx.GetLanguage(), nil
	case Java:
		return java.GetLanguage(), nil
	case C:
		return c.GetLanguage(), nil
	case Cpp:
		return cpp.GetLanguage(), nil
	case Rust:
		return rust.GetLanguage(), nil
	case CSharp:
		return csharp.GetLanguage(), nil
	}
	return nil, &UnsupportedLanguageError{Name: string(l)}
}

// Valid reports whether l is one of the supported languages.
func (l Language) Valid() bool {
	_, err := l.grammar()
	return err == nil
}

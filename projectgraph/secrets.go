package projectgraph

import (
	"path"
	"regexp"
	"strings"
)

// defaultSecretGlobs name files that are never read: environment files,
// private keys and certificates, credential stores. Matched against the
// base name (and, for patterns with a '/', the slash path relative to the
// root) with path.Match. Certificates are public in principle but travel
// beside their keys, so they go too.
var defaultSecretGlobs = []string{
	".env", ".env.*", "*.env", ".envrc",
	"*.pem", "*.key", "*.p12", "*.pfx", "*.jks", "*.keystore", "*.crt", "*.cer", "*.der", "*.csr",
	"*.asc", "*.gpg", "*.pgp", "*.kdbx", "*.ovpn", "*.ppk",
	"id_rsa*", "id_dsa*", "id_ecdsa*", "id_ed25519*",
	".netrc", "_netrc", ".npmrc", ".pypirc", ".git-credentials", ".dockercfg", ".htpasswd", ".pgpass",
	"credentials", "credentials.json", "credentials.*", "*credentials*.json", "secrets.*", "*.secret", "*.secrets",
	"service-account*.json", "kubeconfig", "*.tfstate", "*.tfvars",
	".aws/*", ".ssh/*", ".gnupg/*", ".docker/config.json", ".kube/config",
}

// denyList is a compiled glob list: exact base names and "*.ext"
// suffixes are map lookups (the common case, checked for every file of a
// scan); the rest go through path.Match.
type denyList struct {
	exact    map[string]bool
	suffixes map[string]bool // ".pem" for "*.pem"
	globs    []string        // base-name globs
	paths    []string        // globs with a '/'
}

func compileDeny(globs []string) *denyList {
	d := &denyList{exact: map[string]bool{}, suffixes: map[string]bool{}}
	for _, g := range globs {
		switch {
		case strings.Contains(g, "/"):
			d.paths = append(d.paths, g)
		case !strings.ContainsAny(g, "*?[\\"):
			d.exact[strings.ToLower(g)] = true
		case strings.HasPrefix(g, "*.") && !strings.ContainsAny(g[2:], "*?[\\."):
			d.suffixes[strings.ToLower(g[1:])] = true
		default:
			d.globs = append(d.globs, g)
		}
	}
	return d
}

// isSecretFile reports whether rel (slash path relative to a root) names a
// file that may hold secrets under the given glob list.
func isSecretFile(rel string, globs []string) bool { return compileDeny(globs).match(rel) }

func (d *denyList) match(rel string) bool {
	base := path.Base(rel)
	lower := strings.ToLower(base)
	if d.exact[lower] || d.suffixes[path.Ext(lower)] {
		return true
	}
	for _, g := range d.globs {
		if ok, _ := path.Match(g, base); ok {
			return true
		}
		if ok, _ := path.Match(g, lower); ok {
			return true
		}
	}
	for _, g := range d.paths {
		if ok, _ := path.Match(g, rel); ok {
			return true
		}
		// A directory pattern matches at any depth: ".ssh/*" covers
		// "home/.ssh/id".
		if i := strings.LastIndex(rel, "/"); i >= 0 {
			dir := path.Base(rel[:i])
			if ok, _ := path.Match(g, dir+"/"+base); ok {
				return true
			}
		}
	}
	return false
}

// secretPatterns match values that look like keys or tokens. Each match is
// replaced by redaction. Patterns are specific (provider prefixes, PEM
// armour) or anchored on an assignment to a secret-sounding name, so code
// that merely mentions "token" survives.
var secretPatterns = []*regexp.Regexp{
	// PEM private key bodies, single line or the armour line itself.
	regexp.MustCompile(`-----BEGIN [A-Z ]*PRIVATE KEY( BLOCK)?-----[\s\S]*?(-----END [A-Z ]*PRIVATE KEY( BLOCK)?-----|$)`),
	// Provider tokens with known shapes.
	regexp.MustCompile(`\b(AKIA|ASIA|AGPA|AIDA|AROA|ANPA|ANVA|AIPA)[0-9A-Z]{16}\b`),               // AWS access key id
	regexp.MustCompile(`\bgh[pousr]_[A-Za-z0-9]{30,}\b`),                                          // GitHub
	regexp.MustCompile(`\bgithub_pat_[A-Za-z0-9_]{40,}\b`),                                        // GitHub fine-grained
	regexp.MustCompile(`\bglpat-[A-Za-z0-9_\-]{20,}\b`),                                           // GitLab
	regexp.MustCompile(`\bxox[abposr]-[A-Za-z0-9-]{10,}\b`),                                       // Slack
	regexp.MustCompile(`\bAIza[0-9A-Za-z_\-]{35}\b`),                                              // Google API key
	regexp.MustCompile(`\bsk-(proj-|ant-)?[A-Za-z0-9_\-]{20,}\b`),                                 // OpenAI / Anthropic style
	regexp.MustCompile(`\b[rs]k_(live|test)_[A-Za-z0-9]{16,}\b`),                                  // Stripe
	regexp.MustCompile(`\bhf_[A-Za-z0-9]{30,}\b`),                                                 // Hugging Face
	regexp.MustCompile(`\bnpm_[A-Za-z0-9]{36}\b`),                                                 // npm
	regexp.MustCompile(`\beyJ[A-Za-z0-9_\-]{10,}\.eyJ[A-Za-z0-9_\-]{10,}\.[A-Za-z0-9_\-]{10,}\b`), // JWT
	// Credentials in URLs: scheme://user:password@host.
	regexp.MustCompile(`\b([a-z][a-z0-9+.\-]*://[^/\s:@'"]+:)[^/\s@'"]{3,}(@)`),
	// name = "value" where the name sounds secret and the value is long
	// and has no spaces.
	regexp.MustCompile(`(?i)((?:api[_\-]?key|apikey|secret|token|passwd|password|passphrase|private[_\-]?key|access[_\-]?key|auth[_\-]?key|client[_\-]?secret|credentials?)[A-Za-z0-9_\-]*["']?\s*(?::=|=|:|=>)\s*["'\x60]?)([^\s"'\x60,;)]{8,})`),
}

// secretTriggers are, per pattern, literals one of which every match
// contains; a text holding none skips the pattern. The generic assignment
// pattern's triggers are matched against the lower-cased text. This keeps
// masking a body of code to a few substring scans instead of fourteen
// regular-expression passes.
var secretTriggers = [][]string{
	{"PRIVATE KEY"},
	{"AKIA", "ASIA", "AGPA", "AIDA", "AROA", "ANPA", "ANVA", "AIPA"},
	{"ghp_", "gho_", "ghu_", "ghs_", "ghr_"},
	{"github_pat_"},
	{"glpat-"},
	{"xox"},
	{"AIza"},
	{"sk-"},
	{"k_live_", "k_test_"},
	{"hf_"},
	{"npm_"},
	{"eyJ"},
	{"://"},
	{"key", "secret", "token", "passw", "passphrase", "credential"},
}

// redaction replaces a secret. It is a valid token in every language's
// string or comment and clearly not code to imitate.
const redaction = "[REDACTED]"

// MaskSecrets replaces every key- or token-looking value in s with
// [REDACTED]. Every text the package hands out (context blocks,
// signatures, docs) passes through it.
func MaskSecrets(s string) string {
	lower := ""
	for i, re := range secretPatterns {
		text := s
		if i == len(secretPatterns)-1 {
			if lower == "" {
				lower = strings.ToLower(s)
			}
			text = lower
		}
		hit := false
		for _, t := range secretTriggers[i] {
			if strings.Contains(text, t) {
				hit = true
				break
			}
		}
		if !hit || !re.MatchString(s) {
			continue
		}
		switch i {
		case len(secretPatterns) - 1: // assignment: keep the name
			s = re.ReplaceAllStringFunc(s, func(m string) string {
				sub := re.FindStringSubmatch(m)
				val := sub[2]
				if looksLikeCode(val) {
					return m
				}
				return sub[1] + redaction
			})
		case len(secretPatterns) - 2: // URL credentials: keep scheme and user
			s = re.ReplaceAllString(s, "${1}"+redaction+"${2}")
		default:
			s = re.ReplaceAllString(s, redaction)
		}
	}
	return s
}

// looksLikeCode tells a value from an expression: `token = getToken()` or
// `password: opts.Password` are code, not secrets.
func looksLikeCode(v string) bool {
	if strings.ContainsAny(v, "().[]{}") {
		return true
	}
	if v == redaction {
		return true
	}
	// A plain identifier (letters and underscores, no digits) is a
	// variable name far more often than a secret.
	for _, r := range v {
		if !(r == '_' || r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z') {
			return false
		}
	}
	return true
}

package lsp

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
	"path/filepath"
	"strings"
)

// document is an open text document. A document we cannot keep (too
// large, binary, or out of sync after an edit we could not apply) stays
// in the table with skip set, so that later changes and completions for it
// are recognised and ignored; a full-text change can bring it back.
type document struct {
	uri     string
	lang    string
	version int32
	text    *Text // nil when skipped
	skip    error // why the document is skipped, nil if not
}

func (s *Server) didOpen(raw json.RawMessage) {
	var p didOpenParams
	if err := json.Unmarshal(raw, &p); err != nil {
		s.log.Warn("bad didOpen", "err", err)
		return
	}
	td := p.TextDocument
	doc := &document{uri: td.URI, lang: td.LanguageID, version: td.Version}
	if err := checkContent(td.Text); err != nil {
		doc.skip = err
	} else {
		doc.text = NewText(td.Text)
	}
	s.mu.Lock()
	old := s.docs[td.URI]
	s.docs[td.URI] = doc
	delete(s.shown, td.URI)
	if sl := s.slots[td.URI]; sl != nil && old != nil {
		sl.cancel(errDocClosed)
	}
	s.mu.Unlock()
	if old != nil && old.skip == nil {
		// Opened again without a close (a client bug, or a reload): the
		// observers drop the old state first, whatever the new text is.
		if o := s.opts.Documents; o != nil {
			o.DidClose(td.URI)
		}
	}
	if doc.skip != nil {
		s.tellSkipped(doc)
		return
	}
	if o := s.opts.Documents; o != nil {
		o.DidOpen(td.URI, td.LanguageID, td.Version, td.Text)
	}
}

// tellSkipped shows, once per document, why it gets no completions.
func (s *Server) tellSkipped(doc *document) {
	s.mu.Lock()
	told := s.skipMsgs[doc.uri]
	s.skipMsgs[doc.uri] = true
	s.mu.Unlock()
	s.log.Info("document skipped", "uri", doc.uri, "reason", doc.skip.Error())
	if !told {
		s.showMessage(msgInfo, fmt.Sprintf("Ghostline: no completions in %s: %v", displayName(doc.uri), doc.skip))
	}
}

func (s *Server) didChange(raw json.RawMessage) {
	var p didChangeParams
	if err := json.Unmarshal(raw, &p); err != nil {
		s.log.Warn("bad didChange", "err", err)
		return
	}
	uri := p.TextDocument.URI
	s.mu.Lock()
	doc := s.docs[uri]
	if doc == nil {
		s.mu.Unlock()
		s.log.Warn("didChange for a document that is not open", "uri", uri)
		return
	}
	if p.TextDocument.Version <= doc.version {
		s.log.Warn("didChange version did not increase", "uri", uri, "have", doc.version, "got", p.TextDocument.Version)
	}
	wasSkipped := doc.skip != nil
	text, failure := doc.text, doc.skip
	s.mu.Unlock()
	// Applied outside the lock: only the message loop writes documents,
	// and a panic here (a bug) must not leave the server locked.
	text, failure, edits, reopened := applyChanges(text, failure, p.ContentChanges, s.enc)
	s.mu.Lock()
	if s.docs[uri] != doc {
		s.mu.Unlock()
		return
	}
	doc.version = p.TextDocument.Version
	doc.text, doc.skip = text, failure
	nowSkipped := failure != nil
	if !nowSkipped {
		delete(s.skipMsgs, uri) // tell again if it goes bad again
	}
	s.mu.Unlock()

	o := s.opts.Documents
	switch {
	case nowSkipped:
		if !wasSkipped {
			s.tellSkipped(doc)
			if o != nil {
				o.DidClose(uri) // observers hold no state for skipped documents
			}
		}
	case o == nil:
	case wasSkipped:
		o.DidOpen(uri, doc.lang, doc.version, text.String())
	case reopened: // failed and recovered within one notification
		o.DidClose(uri)
		o.DidOpen(uri, doc.lang, doc.version, text.String())
	case len(edits) > 0:
		o.DidChange(uri, doc.version, edits, text.String())
	}
}

// applyChanges applies a didChange's content changes in order. text is nil
// and failure set for a skipped document; a full-text change can revive it.
// reopened says the text was rebuilt from a full change after a failure
// within these changes (observers must start over).
func applyChanges(text *Text, failure error, changes []contentChange, enc PositionEncoding) (_ *Text, _ error, edits []Edit, reopened bool) {
	for i, ch := range changes {
		if ch.Range == nil { // the whole text: also the way back from a skip
			if err := checkContent(ch.Text); err != nil {
				text, failure = nil, err
				continue
			}
			if text == nil {
				reopened, edits = true, nil
				text, failure = NewText(ch.Text), nil
				continue
			}
			next, e, _ := text.Apply(nil, ch.Text, enc) // a whole-text change cannot fail
			text, failure, edits = next, nil, append(edits, e)
			continue
		}
		if text == nil {
			continue // skipped: an incremental change has nothing to apply to
		}
		if strings.IndexByte(ch.Text, 0) >= 0 {
			text, failure = nil, ErrBinary
			continue
		}
		next, e, err := text.Apply(ch.Range, ch.Text, enc)
		if err != nil {
			if !errors.Is(err, ErrTooLarge) {
				err = fmt.Errorf("change %d could not be applied (%w); no completions until the client resends the document", i, err)
			}
			text, failure = nil, err
			continue
		}
		text = next
		edits = append(edits, e)
	}
	return text, failure, edits, reopened
}

func (s *Server) didClose(raw json.RawMessage) {
	var p textDocumentParams
	if err := json.Unmarshal(raw, &p); err != nil {
		s.log.Warn("bad didClose", "err", err)
		return
	}
	uri := p.TextDocument.URI
	s.mu.Lock()
	doc := s.docs[uri]
	delete(s.docs, uri)
	delete(s.shown, uri)
	delete(s.skipMsgs, uri)
	if sl := s.slots[uri]; sl != nil {
		sl.cancel(errDocClosed)
	}
	s.mu.Unlock()
	if doc != nil && doc.skip == nil {
		if o := s.opts.Documents; o != nil {
			o.DidClose(uri)
		}
	}
}

// filePath returns the local path of a file:// URI, or "".
func filePath(uri string) string {
	u, err := url.Parse(uri)
	if err != nil || u.Scheme != "file" {
		return ""
	}
	p := u.Path
	if len(p) >= 3 && p[0] == '/' && p[2] == ':' { // file:///C:/x on Windows
		p = p[1:]
	}
	return filepath.FromSlash(p)
}

// displayName is a short name for messages.
func displayName(uri string) string {
	if p := filePath(uri); p != "" {
		return filepath.Base(p)
	}
	return uri
}

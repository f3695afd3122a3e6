-- Ghostline for Neovim: ghost-text code completion from `ghostline lsp`.
--
-- On Neovim >= 0.12 the built-in vim.lsp.inline_completion draws and
-- accepts suggestions (unless setup{native = false}). On older versions
-- (Debian bookworm ships 0.7.2) this module does it: it asks the server
-- with textDocument/inlineCompletion (or textDocument/completion for a
-- server without it), draws the suggestion with an extmark (virtual text
-- after the line on < 0.10, where inline virtual text does not exist;
-- the following lines as virt_lines) and accepts it whole, by word or by
-- line. Typing along a suggestion trims it at once, without waiting for
-- the server.
local M = {}

local api = vim.api
local uv = vim.loop

local ns = api.nvim_create_namespace('ghostline')
local has_inline_virt = vim.fn.has('nvim-0.10') == 1
local has_native = vim.fn.has('nvim-0.12') == 1

local defaults = {
  -- The server command.
  cmd = { 'ghostline', 'lsp' },
  -- Filetypes to attach to; nil = every filetype except `exclude_filetypes`.
  filetypes = nil,
  -- Prose and special buffers, where completion is mostly noise.
  exclude_filetypes = { '', 'help', 'gitcommit', 'gitrebase', 'markdown', 'text', 'TelescopePrompt' },
  -- Milliseconds after the last keystroke before asking. The request is
  -- cheap to supersede (the server cancels the older decode), so this only
  -- keeps a burst of keystrokes from costing a round trip each.
  debounce = 50,
  -- Server settings (lsp/config.go): nil keeps the server's default.
  model = nil,
  max_lines = nil,
  -- Tokens of code from other files of the workspace (definitions the code
  -- at the cursor uses, found through the project graph) a prompt may hold:
  -- an integer in 0..1048576, 0 turns cross-file context off; the server's
  -- default is 512.
  cross_file_budget = nil,
  astguard = nil,
  -- Use vim.lsp.inline_completion on Neovim >= 0.12.
  native = true,
  -- Insert-mode keys; false disables one (or all: keymaps = false).
  keymaps = {
    accept = '<Tab>',
    accept_word = '<M-Right>',
    accept_line = '<M-Down>',
    dismiss = '<C-]>',
    next = '<M-]>',
  },
  -- Root directory for the server's workspace: the nearest parent holding
  -- one of these, else the current directory.
  root_markers = { '.git', 'go.mod', 'package.json', 'pyproject.toml', 'Cargo.toml' },
  -- For tests and servers without inline completion: force the
  -- textDocument/completion fallback.
  force_completion_fallback = false,
}

local config = vim.deepcopy(defaults)

-- Bounds the server checks (lsp/config.go) on the settings the plugin
-- checks too: a value outside is reported at setup, where it was typed,
-- and left out, so the server keeps its default rather than refusing it
-- in a message the user may never see.
local limits = {
  cross_file_budget = { 0, 1048576 },
}

local function check_settings()
  for key, b in pairs(limits) do
    local v = config[key]
    -- v == math.floor(v) is false for NaN and fractions; inf fails the bound.
    if v ~= nil and not (type(v) == 'number' and v == math.floor(v) and v >= b[1] and v <= b[2]) then
      vim.notify(('ghostline: %s must be an integer in %d..%d, got %s; the server default is used')
        :format(key, b[1], b[2], vim.inspect(v)), vim.log.levels.WARN)
      config[key] = nil
    end
  end
end

-- Per-buffer state: the suggestion on screen and the request in flight.
-- shown = { row, col (byte, 0-based, where the ghost text starts), text
--           (still to insert), replace_end (byte col the accept replaces up
--           to on row: the item's range may cover closers after the
--           cursor), tail (bytes of row after replace_end, which typing
--           and partial accepts leave in place, so replace_end follows
--           them), raw (the server's item), client_id, accepted
--           (UTF-16 units of the item's text now in the buffer: typed or
--           accepted, as acceptedLength counts them), crlf (the item's
--           line breaks are "\r\n": two units each),
--           items, index, extmark }
local buffers = {}
local status = { progress = {}, inflight = 0, error = nil, running = false }

local function buf_state(bufnr)
  local s = buffers[bufnr]
  if not s then
    s = {}
    buffers[bufnr] = s
  end
  return s
end

-- Client methods: called with ':' from 0.11 (the '.' form is deprecated
-- there), with '.' before (they take no self).
local colon = vim.fn.has('nvim-0.11') == 1
local function call(client, method, ...)
  if colon then
    return client[method](client, ...)
  end
  return client[method](...)
end

-- utf16_len is the length of s in UTF-16 code units: the unit of
-- didPartiallyAcceptCompletion's acceptedLength (VS Code's, whose strings
-- are UTF-16).
local function utf16_len(s)
  if colon then
    return vim.str_utfindex(s, 'utf-16')
  end
  local _, n = vim.str_utfindex(s)
  return n
end

local function get_client(bufnr)
  local clients = vim.lsp.get_clients and vim.lsp.get_clients({ bufnr = bufnr })
    or vim.lsp.get_active_clients({ bufnr = bufnr })
  for _, c in ipairs(clients) do
    if c.name == 'ghostline' then
      return c
    end
  end
end

local function caps(client)
  return client.server_capabilities or client.resolved_capabilities or {}
end

-- Status ------------------------------------------------------------------

--- status returns 'starting', 'loading', 'indexing', 'ready', 'generating',
--- 'error' or 'off', for a statusline: `%{v:lua.require'ghostline'.status()}`.
function M.status()
  if not status.running then
    return 'off'
  end
  for _, p in pairs(status.progress) do
    return (p.title or ''):lower():find('load') and 'loading' or 'indexing'
  end
  if status.inflight > 0 then
    return 'generating'
  end
  if status.error then
    return 'error'
  end
  return status.initialized and 'ready' or 'starting'
end

--- status_detail returns the message behind status(): the progress title,
--- or the server's last error.
function M.status_detail()
  for _, p in pairs(status.progress) do
    return p.title or ''
  end
  return status.error or ''
end

-- window/showMessage: an error (a missing model, say) shows in status().
local function on_show_message(err, result, ctx, cfg)
  if result and result.type == 1 then
    status.error = result.message
  end
  local default = vim.lsp.handlers['window/showMessage']
  if default then
    return default(err, result, ctx, cfg)
  end
end

local function on_progress(err, result, ctx, cfg)
  if result and result.value and type(result.value) == 'table' then
    local v = result.value
    if v.kind == 'begin' then
      status.progress[result.token] = { title = v.title, percentage = v.percentage }
    elseif v.kind == 'end' then
      local p = status.progress[result.token]
      if p and (p.title or ''):lower():find('load') then
        status.loaded = true
      end
      status.progress[result.token] = nil
    end
    pcall(vim.cmd, 'doautocmd <nomodeline> User GhostlineStatus')
  end
  local default = vim.lsp.handlers['$/progress']
  if default then
    return default(err, result, ctx, cfg)
  end
end

-- Text helpers --------------------------------------------------------------

local word_chars = '[%w_\128-\255]'

--- accept_len returns how many bytes of text "accept word" / "accept line"
--- take: a word is leading blanks then a run of word characters (or one
--- other character); a line runs up to and including the next line break
--- (for text that starts with a break: that break and the next line).
function M._accept_len(text, kind)
  if text == '' then
    return 0
  end
  if kind == 'line' then
    local lead = text:sub(1, 1) == '\n' and 1 or 0
    local nl = text:find('\n', lead + 1, true)
    return nl or #text
  end
  local i = 1
  while i <= #text and text:sub(i, i):match('[ \t]') do
    i = i + 1
  end
  if i > #text then
    return #text
  end
  local c = text:sub(i, i)
  if c == '\n' then
    return i
  end
  if c:match(word_chars) then
    while i <= #text and text:sub(i, i):match(word_chars) do
      i = i + 1
    end
    return i - 1
  end
  return i
end

-- LSP positions are UTF-16 here (Neovim < 0.11 negotiates nothing else);
-- the buffer is bytes.
local function byte_col(bufnr, pos, encoding)
  local line = api.nvim_buf_get_lines(bufnr, pos.line, pos.line + 1, false)[1] or ''
  if encoding == 'utf-8' then
    return math.min(pos.character, #line)
  end
  local ok, b
  if colon then -- 0.11: str_byteindex(s, encoding, index, strict)
    ok, b = pcall(vim.str_byteindex, line, encoding, pos.character, false)
  else
    ok, b = pcall(vim.str_byteindex, line, pos.character, encoding ~= 'utf-32')
  end
  return ok and b or #line
end

-- Drawing -------------------------------------------------------------------

local function clear(bufnr)
  local s = buffers[bufnr]
  if s and s.shown then
    pcall(api.nvim_buf_del_extmark, bufnr, ns, s.shown.extmark)
    s.shown = nil
  end
end

local function draw(bufnr)
  local sh = buffers[bufnr].shown
  if sh.extmark then
    pcall(api.nvim_buf_del_extmark, bufnr, ns, sh.extmark)
  end
  -- Tabs in virtual text are not expanded on old versions: draw spaces.
  local tab = string.rep(' ', vim.bo[bufnr].tabstop)
  local lines = vim.split((sh.text:gsub('\t', tab)), '\n', { plain = true })
  local virt_lines = {}
  for i = 2, #lines do
    virt_lines[#virt_lines + 1] = { { lines[i], 'GhostlineSuggestion' } }
  end
  local opts = {
    virt_text = { { lines[1], 'GhostlineSuggestion' } },
    virt_text_pos = has_inline_virt and 'inline' or 'eol',
    hl_mode = 'combine',
  }
  if #virt_lines > 0 then
    opts.virt_lines = virt_lines
    -- In the middle of a line (a callback in "setTimeout(|, 1000)") the
    -- text after the cursor ends up after the suggestion's last line:
    -- draw it there, and cover it where it stands with the first line
    -- (overlaid, padded to its width), so the screen shows the lines the
    -- accept will make.
    local cur = api.nvim_buf_get_lines(bufnr, sh.row, sh.row + 1, false)[1] or ''
    local after = cur:sub(sh.col + 1):gsub('\t', tab)
    if after ~= '' then
      local keep = cur:sub(math.max(sh.col, sh.replace_end) + 1):gsub('\t', tab)
      local pad = vim.fn.strdisplaywidth(after) - vim.fn.strdisplaywidth(lines[1])
      opts.virt_text = { { lines[1] .. string.rep(' ', math.max(pad, 0)), 'GhostlineSuggestion' } }
      opts.virt_text_pos = 'overlay'
      table.insert(virt_lines[#virt_lines], { keep, 'Normal' })
    end
  elseif sh.replace_end > sh.col then
    -- One line over closers it replaces (`Hello, ", name)` at
    -- 'fmt.Println("|")'): draw the line as the accept will make it, over
    -- the rest of the line, padded to cover it.
    local cur = api.nvim_buf_get_lines(bufnr, sh.row, sh.row + 1, false)[1] or ''
    local after = cur:sub(sh.col + 1):gsub('\t', tab)
    local keep = cur:sub(sh.replace_end + 1):gsub('\t', tab)
    local pad = vim.fn.strdisplaywidth(after) - vim.fn.strdisplaywidth(lines[1] .. keep)
    opts.virt_text = { { lines[1], 'GhostlineSuggestion' }, { keep .. string.rep(' ', math.max(pad, 0)), 'Normal' } }
    opts.virt_text_pos = 'overlay'
  end
  sh.extmark = api.nvim_buf_set_extmark(bufnr, ns, sh.row, sh.col, opts)
end

--- item_text is an item's text with "\n" line breaks, and whether it had
--- "\r\n" ones: the server answers a CRLF document in CRLF, but buffer
--- lines never hold the "\r" (Neovim's 'fileformat' adds it on write), so
--- a kept one would show as ^M.
local function item_text(raw)
  local text = raw.insertText
  if raw.textEdit then -- textDocument/completion fallback item
    text = raw.textEdit.newText
  elseif type(text) == 'table' then
    text = text.value
  end
  if type(text) ~= 'string' then
    return nil, false
  end
  local lf, n = text:gsub('\r\n', '\n')
  return lf, n > 0
end

--- item_len is the length of part (a piece of sh.text) in UTF-16 units of
--- the item's own text, whose line breaks may be "\r\n".
local function item_len(sh, part)
  local n = utf16_len(part)
  if sh.crlf then
    n = n + select(2, part:gsub('\n', ''))
  end
  return n
end

--- show puts item i of items on screen, or returns false if it does not
--- fit the buffer as it is now.
local function show(bufnr, client, items, index)
  local raw = items[index]
  local text, crlf = item_text(raw)
  if type(text) ~= 'string' or text == '' then
    return false
  end
  local cursor = api.nvim_win_get_cursor(0)
  local row, col = cursor[1] - 1, cursor[2]
  local enc = client.offset_encoding or 'utf-16'
  local range = raw.range or (raw.textEdit and (raw.textEdit.range or raw.textEdit.insert))
  local start_col, end_col = col, col
  if range then
    if range.start.line ~= row or range['end'].line ~= row then
      return false
    end
    start_col = byte_col(bufnr, range.start, enc)
    end_col = byte_col(bufnr, range['end'], enc)
  end
  if start_col > col then
    return false
  end
  -- The item replaces [start, end): skip what is already typed before the
  -- cursor; what it replaces after the cursor goes when it is accepted.
  local line = api.nvim_buf_get_lines(bufnr, row, row + 1, false)[1] or ''
  local typed = line:sub(start_col + 1, col)
  if text:sub(1, #typed) ~= typed then
    return false
  end
  text = text:sub(#typed + 1)
  if text == '' then
    return false
  end
  clear(bufnr)
  local sh = {
    row = row, col = col, text = text, replace_end = math.max(end_col, col),
    tail = #line - math.max(end_col, col), raw = raw, client_id = client.id, items = items, index = index, crlf = crlf,
  }
  sh.accepted = item_len(sh, typed)
  buffers[bufnr].shown = sh
  draw(bufnr)
  call(client, 'notify', 'textDocument/didShowCompletion', { item = raw })
  return true
end

-- Requests ------------------------------------------------------------------

local function cancel(bufnr)
  local s = buffers[bufnr]
  if s and s.request then
    local client = vim.lsp.get_client_by_id(s.request.client_id)
    if client then
      call(client, 'cancel_request', s.request.id)
    end
    s.request = nil
    status.inflight = math.max(0, status.inflight - 1)
  end
end

--- request asks the server for suggestions at the cursor (trigger 2 =
--- Automatic: one item; 1 = Invoked: alternatives to cycle through).
--- avoid: the text on screen, shown again only if nothing else came.
function M.request(trigger, avoid)
  local bufnr = api.nvim_get_current_buf()
  local client = get_client(bufnr)
  if not client then
    return
  end
  cancel(bufnr)
  local s = buf_state(bufnr)
  local params = vim.lsp.util.make_position_params(0, client.offset_encoding)
  local method = 'textDocument/inlineCompletion'
  if config.force_completion_fallback or not caps(client).inlineCompletionProvider then
    method = 'textDocument/completion'
    params.context = { triggerKind = trigger == 1 and 1 or 3 }
  else
    params.context = { triggerKind = trigger or 2 }
  end
  local tick = api.nvim_buf_get_changedtick(bufnr)
  local cursor = api.nvim_win_get_cursor(0)
  local req = { client_id = client.id }
  status.inflight = status.inflight + 1
  local ok, id = call(client, 'request', method, params, function(err, result)
    if s.request ~= req then
      return -- cancelled or superseded; the counter was settled there
    end
    s.request = nil
    status.inflight = math.max(0, status.inflight - 1)
    if err then
      if err.code ~= -32800 and err.code ~= -32802 then
        status.error = err.message
      end
      return
    end
    status.error = nil
    -- Drop an answer for text that changed since, or a cursor that moved,
    -- or a user who left insert mode.
    if api.nvim_get_current_buf() ~= bufnr or api.nvim_buf_get_changedtick(bufnr) ~= tick
      or not vim.deep_equal(api.nvim_win_get_cursor(0), cursor) or not api.nvim_get_mode().mode:match('^i') then
      return
    end
    local items = result and (result.items or result) or {}
    for pass = 1, 2 do
      for i = 1, #items do
        if (pass == 2 or avoid == nil or item_text(items[i]) ~= avoid) and show(bufnr, client, items, i) then
          return
        end
      end
    end
  end, bufnr)
  if ok then
    req.id = id
    s.request = req
  else
    status.inflight = math.max(0, status.inflight - 1)
  end
end

local function schedule_request(bufnr)
  local s = buf_state(bufnr)
  if not s.timer then
    s.timer = uv.new_timer()
  end
  s.timer:stop()
  s.timer:start(config.debounce, 0, vim.schedule_wrap(function()
    if api.nvim_get_current_buf() == bufnr and api.nvim_get_mode().mode:match('^i') then
      M.request(2)
    end
  end))
end

-- on_change runs on TextChangedI and CursorMovedI (in either order): a
-- suggestion the user typed along is trimmed, anything else clears it; a
-- text change asks again.
local function on_change(bufnr)
  local s = buf_state(bufnr)
  local sh = s.shown
  local cursor = api.nvim_win_get_cursor(0)
  local row, col = cursor[1] - 1, cursor[2]
  local tick = api.nvim_buf_get_changedtick(bufnr)
  local changed = tick ~= s.tick
  s.tick = tick
  if sh then
    if row == sh.row and col == sh.col and not changed then
      return
    end
    local line = api.nvim_buf_get_lines(bufnr, row, row + 1, false)[1] or ''
    local typed = row == sh.row and col > sh.col and line:sub(sh.col + 1, col) or nil
    if typed and sh.text:sub(1, #typed) == typed and #typed < #sh.text then
      sh.text = sh.text:sub(#typed + 1)
      sh.accepted = sh.accepted + item_len(sh, typed)
      sh.col = col
      sh.replace_end = math.max(col, #line - sh.tail)
      draw(bufnr)
      return -- still a valid suggestion: nothing to ask
    end
    clear(bufnr)
  end
  if changed then
    cancel(bufnr)
    schedule_request(bufnr)
  end
end

-- Accepting -----------------------------------------------------------------

--- visible reports whether a suggestion is on screen in the current buffer.
function M.visible()
  local s = buffers[api.nvim_get_current_buf()]
  return s ~= nil and s.shown ~= nil
end

--- accept inserts the suggestion: kind 'all' (default), 'word' or 'line'.
--- Returns true if something was inserted.
function M.accept(kind)
  kind = kind or 'all'
  local bufnr = api.nvim_get_current_buf()
  local s = buffers[bufnr]
  local sh = s and s.shown
  if not sh then
    return false
  end
  local n = kind == 'all' and #sh.text or M._accept_len(sh.text, kind)
  local part = sh.text:sub(1, n)
  local rest = sh.text:sub(n + 1)
  local lines = vim.split(part, '\n', { plain = true })
  local end_col = sh.col
  if rest == '' then
    end_col = sh.replace_end -- whole: replace what the item covers after the cursor
  end
  pcall(api.nvim_buf_del_extmark, bufnr, ns, sh.extmark)
  sh.extmark = nil
  api.nvim_buf_set_text(bufnr, sh.row, sh.col, sh.row, end_col, lines)
  local new_row = sh.row + #lines - 1
  local new_col = (#lines == 1 and sh.col or 0) + #lines[#lines]
  api.nvim_win_set_cursor(0, { new_row + 1, new_col })
  local client = vim.lsp.get_client_by_id(sh.client_id)
  sh.accepted = sh.accepted + item_len(sh, part)
  if rest == '' then
    s.shown = nil
    -- Tell the server (its local feedback log): the item's command.
    if client and sh.raw.command then
      call(client, 'request', 'workspace/executeCommand', sh.raw.command, function() end, bufnr)
    end
  else
    -- What the item replaces after the cursor now follows the inserted
    -- part, at the end of its last line.
    local cur = api.nvim_buf_get_lines(bufnr, new_row, new_row + 1, false)[1] or ''
    sh.text, sh.row, sh.col = rest, new_row, new_col
    sh.replace_end = math.max(new_col, #cur - sh.tail)
    draw(bufnr)
    if client then
      call(client, 'notify', 'textDocument/didPartiallyAcceptCompletion', { item = sh.raw, acceptedLength = sh.accepted })
    end
  end
  -- What we inserted is not a change to react to.
  s.tick = api.nvim_buf_get_changedtick(bufnr)
  return true
end

--- dismiss hides the suggestion and stops the request in flight.
function M.dismiss()
  local bufnr = api.nvim_get_current_buf()
  cancel(bufnr)
  clear(bufnr)
end

--- next shows the next alternative (asking for alternatives first).
function M.next()
  local bufnr = api.nvim_get_current_buf()
  local sh = buffers[bufnr] and buffers[bufnr].shown
  if sh and #sh.items > 1 then
    local client = vim.lsp.get_client_by_id(sh.client_id)
    for step = 1, #sh.items - 1 do
      local i = (sh.index - 1 + step) % #sh.items + 1
      if client and show(bufnr, client, sh.items, i) then
        return
      end
    end
  else
    -- Ask for alternatives, and show one that differs from this.
    M.request(1, sh and item_text(sh.raw) or nil)
  end
end

-- Setup ---------------------------------------------------------------------

local function root_dir(bufnr)
  local name = api.nvim_buf_get_name(bufnr)
  local dir = name ~= '' and vim.fn.fnamemodify(name, ':p:h') or vim.fn.getcwd()
  -- The nearest folder up from the file holding a root marker (a plain
  -- walk: vim.fs.find is 0.8+).
  while true do
    for _, m in ipairs(config.root_markers) do
      local p = dir .. '/' .. m
      if vim.fn.filereadable(p) == 1 or vim.fn.isdirectory(p) == 1 then
        return dir
      end
    end
    local parent = vim.fn.fnamemodify(dir, ':h')
    if parent == dir then
      return vim.fn.getcwd()
    end
    dir = parent
  end
end

local function wanted(ft)
  if config.filetypes then
    return vim.tbl_contains(config.filetypes, ft)
  end
  return not vim.tbl_contains(config.exclude_filetypes, ft)
end

local function server_settings()
  local g = {}
  g.model = config.model
  g.maxLines = config.max_lines
  g.crossFileBudget = config.cross_file_budget
  g.astguard = config.astguard
  -- The plugin's own path debounces before it asks, so the server need not
  -- wait too; Neovim 0.12's inline completion asks at every change, so
  -- there the server applies the plugin's debounce.
  g.debounceMs = (has_native and config.native) and config.debounce or 0
  return { ghostline = g }
end

local client_id

local function client_config(bufnr)
  local capabilities = vim.lsp.protocol.make_client_capabilities()
  -- Announced because we (or 0.12's client) implement it; the server then
  -- leaves textDocument/completion to other plugins' completion menus.
  capabilities.textDocument.inlineCompletion = { dynamicRegistration = false }
  capabilities.window = capabilities.window or {}
  capabilities.window.workDoneProgress = true
  return {
    name = 'ghostline',
    cmd = config.cmd,
    root_dir = root_dir(bufnr),
    capabilities = capabilities,
    init_options = server_settings(),
    handlers = { ['$/progress'] = on_progress, ['window/showMessage'] = on_show_message },
    flags = { debounce_text_changes = 0 },
    on_init = function()
      status.initialized = true
    end,
    on_exit = function(code)
      M._exit_code = code
      status.running, status.initialized, status.loaded, client_id = false, false, false, nil
      status.progress, status.inflight = {}, 0
      if code ~= 0 then
        -- Not restarted on its own: a server that fails at start would
        -- fail again at once. The user decides, and the command brings
        -- every open buffer back.
        vim.schedule(function()
          vim.notify(('ghostline: the server exited with code %d; :GhostlineRestart starts it again'):format(code), vim.log.levels.WARN)
        end)
      end
    end,
  }
end

-- add_root tells a running server about bufnr's project root when it is
-- new to it: one server serves every root (each would load the model), and
-- a root it does not know gets no cross-file context.
local function add_root(client, bufnr)
  local dir = root_dir(bufnr)
  local uri = vim.uri_from_fname(dir)
  client.workspace_folders = client.workspace_folders or {}
  for _, f in ipairs(client.workspace_folders) do
    if f.uri == uri then
      return
    end
  end
  local folder = { uri = uri, name = dir }
  table.insert(client.workspace_folders, folder)
  call(client, 'notify', 'workspace/didChangeWorkspaceFolders', { event = { added = { folder }, removed = {} } })
end

local function reuse(c, conf)
  return c.name == conf.name
end

local function attach(bufnr)
  if not wanted(vim.bo[bufnr].filetype) or vim.bo[bufnr].buftype ~= '' then
    return
  end
  if has_native and config.native then
    -- One server for every buffer and project root: each would load the model.
    local id = vim.lsp.start(client_config(bufnr), { bufnr = bufnr, reuse_client = reuse })
    status.running = id ~= nil
    if id then
      add_root(vim.lsp.get_client_by_id(id), bufnr)
      vim.lsp.inline_completion.enable(true, { bufnr = bufnr })
    end
    return
  end
  if not client_id or not vim.lsp.get_client_by_id(client_id) then
    if vim.lsp.start then -- 0.8+ (start_client is deprecated from 0.11)
      client_id = vim.lsp.start(client_config(bufnr), { bufnr = bufnr, reuse_client = reuse })
    else
      client_id = vim.lsp.start_client(client_config(bufnr))
    end
    if not client_id then
      vim.notify('ghostline: could not start ' .. table.concat(config.cmd, ' '), vim.log.levels.ERROR)
      return
    end
  end
  status.running = true
  vim.lsp.buf_attach_client(bufnr, client_id)
  add_root(vim.lsp.get_client_by_id(client_id), bufnr)
  local group = api.nvim_create_augroup('ghostline_buf_' .. bufnr, { clear = true })
  api.nvim_create_autocmd({ 'TextChangedI', 'CursorMovedI' }, {
    group = group, buffer = bufnr, callback = function() on_change(bufnr) end,
  })
  api.nvim_create_autocmd('InsertEnter', {
    group = group, buffer = bufnr, callback = function() buf_state(bufnr).tick = api.nvim_buf_get_changedtick(bufnr) end,
  })
  api.nvim_create_autocmd({ 'InsertLeave', 'BufLeave' }, {
    group = group, buffer = bufnr, callback = function() M.dismiss() end,
  })
  api.nvim_create_autocmd('BufUnload', {
    group = group, buffer = bufnr,
    callback = function()
      local s = buffers[bufnr]
      if s and s.timer then
        s.timer:stop()
        s.timer:close()
      end
      buffers[bufnr] = nil
    end,
  })
end

local function map_keys()
  local km = config.keymaps
  if not km then
    return
  end
  local function map(lhs, fn)
    if not lhs then
      return
    end
    -- An expression mapping: with no suggestion on screen the key does what
    -- it did before; with one, a <Cmd> runs outside the expression's
    -- text lock. Both are returned in key notation: the mapping replaces
    -- key codes itself (replace_keycodes), and a key translated twice
    -- (<M-Right>) would type its internal bytes as text.
    vim.keymap.set('i', lhs, function()
      if M.visible() then
        return fn
      end
      return lhs
    end, { expr = true, silent = true, desc = 'ghostline' })
  end
  if has_native and config.native then
    -- 0.12's get() accepts the candidate on screen and returns false when
    -- there is none, the documented way to fall back to the key.
    if km.accept then
      vim.keymap.set('i', km.accept, function()
        if vim.lsp.inline_completion.get() then
          return ''
        end
        return km.accept -- key notation, as above
      end, { expr = true, silent = true, desc = 'ghostline: accept' })
    end
    if km.next then
      -- The cycling function's name changed during 0.12's development.
      local ic = vim.lsp.inline_completion
      local cycle = ic.select or ic.jump
      vim.keymap.set('i', km.next, function() cycle({ count = 1 }) end, { desc = 'ghostline: next' })
    end
    return
  end
  map(km.accept, "<Cmd>lua require'ghostline'.accept('all')<CR>")
  map(km.accept_word, "<Cmd>lua require'ghostline'.accept('word')<CR>")
  map(km.accept_line, "<Cmd>lua require'ghostline'.accept('line')<CR>")
  map(km.dismiss, "<Cmd>lua require'ghostline'.dismiss()<CR>")
  if km.next then
    vim.keymap.set('i', km.next, M.next, { desc = 'ghostline: next suggestion' })
  end
end

--- restart stops the server (if one runs) and starts a new one for every
--- loaded buffer Ghostline serves: after a crash, or to pick up a new
--- binary. Also :GhostlineRestart.
function M.restart()
  local client = client_id and vim.lsp.get_client_by_id(client_id)
  for _, c in ipairs(vim.lsp.get_clients and vim.lsp.get_clients() or vim.lsp.get_active_clients()) do
    if c.name == 'ghostline' then
      client = c
    end
  end
  local function start_all()
    client_id = nil
    for _, b in ipairs(api.nvim_list_bufs()) do
      if api.nvim_buf_is_loaded(b) and vim.bo[b].filetype ~= '' then
        attach(b)
      end
    end
  end
  if not client then
    return start_all()
  end
  call(client, 'stop')
  -- A new client may start only once the old one is gone (vim.lsp.start
  -- would reuse it): poll for that, briefly.
  local tries = 0
  local function wait()
    tries = tries + 1
    if (vim.lsp.get_client_by_id(client.id) == nil or call(client, 'is_stopped')) or tries > 100 then
      return start_all()
    end
    vim.defer_fn(wait, 20)
  end
  wait()
end

--- setup starts Ghostline for matching buffers; see `defaults` for opts.
function M.setup(opts)
  config = vim.tbl_deep_extend('force', vim.deepcopy(defaults), opts or {})
  if opts and opts.keymaps == false then
    config.keymaps = false
  end
  if opts and opts.filetypes then
    config.filetypes = opts.filetypes
  end
  check_settings()
  api.nvim_set_hl(0, 'GhostlineSuggestion', { link = 'Comment', default = true })
  api.nvim_create_user_command('GhostlineRestart', function() M.restart() end,
    { desc = 'Restart the Ghostline server for every open buffer' })
  local group = api.nvim_create_augroup('ghostline', { clear = true })
  api.nvim_create_autocmd('FileType', {
    group = group, callback = function(ev) attach(ev.buf) end,
  })
  for _, b in ipairs(api.nvim_list_bufs()) do
    if api.nvim_buf_is_loaded(b) and vim.bo[b].filetype ~= '' then
      attach(b)
    end
  end
  map_keys()
end

-- For tests: the settings a new client sends as initializationOptions.
function M._settings()
  return server_settings()
end

-- For tests: whether the server has reported its model loaded.
function M._loaded()
  return status.loaded == true
end

-- For tests: the suggestion on screen in the current buffer, or nil.
function M._shown()
  local s = buffers[api.nvim_get_current_buf()]
  return s and s.shown and { text = s.shown.text, row = s.shown.row, col = s.shown.col, accepted = s.shown.accepted, items = #s.shown.items,
    replace_end = s.shown.replace_end }
end

M._namespace = ns

return M

-- Drives a real Neovim (a child started with --embed) as a user would:
-- keys go through nvim_input, so insert mode, autocommands, the debounce
-- timer and the LSP client run exactly as in an editor. The child talks to
-- the real `ghostline lsp` (GHOSTLINE_LSP_CMD, default "ghostline lsp").
--
-- Run: bash editors/nvim/test/run.sh
local env = vim.env
local plugin_dir = assert(env.GHOSTLINE_NVIM_DIR, 'GHOSTLINE_NVIM_DIR not set (use run.sh)')
local server_cmd = vim.split(vim.trim(env.GHOSTLINE_LSP_CMD or 'ghostline lsp'), '%s+')
local fake = vim.tbl_contains(server_cmd, '--fake-completer') or vim.tbl_contains(server_cmd, '-fake-completer')
-- A real model may need to load first.
local load_timeout = fake and 10000 or 300000
local answer_timeout = fake and 5000 or 60000

local tmp = vim.fn.tempname()
vim.fn.mkdir(tmp, 'p')
local feedback = tmp .. '/feedback.jsonl'
table.insert(server_cmd, '--feedback-log')
table.insert(server_cmd, feedback)

local passed, failed = 0, 0
local out = io.stdout

local child = vim.fn.jobstart({ vim.v.progpath, '--embed', '--headless', '-u', 'NONE', '-i', 'NONE', '-n',
  '--cmd', 'set rtp^=' .. vim.fn.fnameescape(plugin_dir) }, { rpc = true })
assert(child > 0, 'could not start a child nvim')

local function call(fn, ...)
  return vim.rpcrequest(child, fn, ...)
end
-- vim.NIL (a nil crossing RPC) comes back as nil.
local function lua(code, ...)
  local v = call('nvim_exec_lua', code, { ... })
  if v == vim.NIL then
    return nil
  end
  return v
end
local function input(keys)
  call('nvim_input', keys)
end

local function wait_for(what, ms, pred)
  local t0 = vim.loop.now()
  while true do
    local ok, v = pcall(pred)
    if ok and v then
      return v
    end
    if vim.loop.now() - t0 > ms then
      error(('timed out after %d ms waiting for %s'):format(ms, what), 2)
    end
    vim.wait(10)
  end
end

local function eq(want, got, what)
  if not vim.deep_equal(want, got) then
    error(('%s: want %s, got %s'):format(what or 'value', vim.inspect(want), vim.inspect(got)), 2)
  end
end

-- The ghost text on screen: { text = first line, lines = following lines }.
local function ghost()
  return lua([[
    local ns = require('ghostline')._namespace
    local marks = vim.api.nvim_buf_get_extmarks(0, ns, 0, -1, { details = true })
    if #marks == 0 then return nil end
    local d = marks[1][4]
    local lines = {}
    for _, vl in ipairs(d.virt_lines or {}) do lines[#lines + 1] = vl[1][1] end
    return { row = marks[1][2], col = marks[1][3], text = d.virt_text and d.virt_text[1][1] or '', lines = lines, n = #marks }
  ]])
end
local function line(n)
  return call('nvim_buf_get_lines', 0, n - 1, n, true)[1]
end
local function mode()
  return call('nvim_get_mode').mode
end
-- Wait until the child has processed all input (blocking requests are
-- answered only after pending input).
local function settle()
  call('nvim_eval', '1')
end

-- The whole suggestion on screen (all its lines), as the plugin will insert it.
local function shown_text()
  return lua([[local s = require('ghostline')._shown() return s and s.text]])
end
local function buf_lines()
  return call('nvim_buf_get_lines', 0, 0, -1, true)
end
local function cursor()
  return call('nvim_win_get_cursor', 0)
end
-- The buffer and cursor after inserting text at (row, col) of before
-- (row 1-based, col a 0-based byte offset).
local function with_insert(before, row, col, text)
  local l = before[row]
  local parts = vim.split(l:sub(1, col) .. text .. l:sub(col + 1), '\n', { plain = true })
  local want = {}
  for i = 1, row - 1 do want[#want + 1] = before[i] end
  for _, p in ipairs(parts) do want[#want + 1] = p end
  for i = row + 1, #before do want[#want + 1] = before[i] end
  local tl = vim.split(text, '\n', { plain = true })
  return want, { row + #tl - 1, (#tl == 1 and col or 0) + #tl[#tl] }
end
-- Presses keys that accept the whole suggestion on screen and checks that
-- exactly the shown text went in at the cursor, with the cursor after it.
-- Returns the text.
local function accept_whole(keys)
  local text = assert(shown_text(), 'a suggestion on screen')
  local before, cur = buf_lines(), cursor()
  input(keys)
  wait_for('the accept', 2000, function() return ghost() == nil end)
  settle()
  local want, want_cur = with_insert(before, cur[1], cur[2], text)
  eq(want, buf_lines(), 'buffer after accepting ' .. vim.inspect(text))
  eq(want_cur, cursor(), 'cursor after the inserted text')
  return text
end
-- The ghost drawn for text: first line as virtual text, the rest as
-- virt_lines with tabs drawn as spaces (tabstop 8).
local function check_drawn(g, text)
  local ls = vim.split((text:gsub('\t', string.rep(' ', 8))), '\n', { plain = true })
  eq(ls[1], g.text, 'first line as virtual text')
  eq(vim.list_slice(ls, 2), g.lines, 'following lines as virt_lines')
end

local function test(name, fn)
  local ok, err = pcall(fn)
  if ok then
    passed = passed + 1
    out:write('ok   ' .. name .. '\n')
  else
    failed = failed + 1
    out:write('FAIL ' .. name .. '\n     ' .. tostring(err):gsub('\n', '\n     ') .. '\n')
    -- Leave insert mode and clear the ghost for the next test.
    pcall(input, '<Esc>')
  end
  out:flush()
end

-- A Go module to edit.
vim.fn.writefile({ 'module demo', '', 'go 1.22' }, tmp .. '/go.mod')
vim.fn.writefile({ 'package main', '', 'import "fmt"', '', 'func main() {', '\t', '}' }, tmp .. '/main.go')
vim.fn.writefile({ '# notes', '' }, tmp .. '/notes.md')

call('nvim_command', 'filetype on')
-- The server's window/showMessage notifications, recorded in the child (the
-- plugin's handler passes them on to vim.lsp.handlers), then shown as usual.
lua([[
  _G.ghostline_messages = {}
  local shown = vim.lsp.handlers['window/showMessage']
  vim.lsp.handlers['window/showMessage'] = function(err, result, ...)
    table.insert(_G.ghostline_messages, result and result.message or '')
    if shown then return shown(err, result, ...) end
  end
]])
-- cross_file_budget = 0 (cross-file context off), not the server's
-- default: the settings test below checks it reaches the server.
lua([[require('ghostline').setup({ cmd = ..., debounce = 20, cross_file_budget = 0 })]], server_cmd)

test('attaches to a Go buffer and the model loads', function()
  call('nvim_command', 'edit ' .. vim.fn.fnameescape(tmp .. '/main.go'))
  eq('go', lua('return vim.bo.filetype'), 'filetype')
  wait_for('the ghostline client', 5000, function()
    return lua([[for _, c in pairs((vim.lsp.get_clients and vim.lsp.get_clients({ bufnr = 0 }) or vim.lsp.buf_get_clients(0))) do if c.name == 'ghostline' then return c.initialized ~= false end end]])
  end)
  -- The model loads behind $/progress after initialized: wait for its end.
  wait_for('the model to load', load_timeout, function() return lua([[return require('ghostline')._loaded()]]) end)
  eq('ready', lua([[return require('ghostline').status()]]), 'status (' .. lua([[return require('ghostline').status_detail()]]) .. ')')
end)
if failed > 0 then
  -- Without a server there is nothing more to test: say so and stop.
  out:write(('0 passed, %d failed (the rest not run)\n'):format(failed))
  vim.cmd('cquit 1')
end

-- Sends didChangeConfiguration {ghostline = settings} through the running
-- client and returns the server's messages in answer (a request after it
-- makes the round trip: the server handles notifications in order).
local function server_messages_for(settings)
  return lua([[
    local settings = ...
    local c
    for _, x in pairs((vim.lsp.get_clients or vim.lsp.get_active_clients)()) do if x.name == 'ghostline' then c = x end end
    local n = #_G.ghostline_messages
    local new = vim.fn.has('nvim-0.11') == 1
    if new then c:notify('workspace/didChangeConfiguration', { settings = { ghostline = settings } })
    else c.notify('workspace/didChangeConfiguration', { settings = { ghostline = settings } }) end
    -- A command the server does not know: answered at once with an error,
    -- without running the model.
    local params = { command = 'ghostline.test.roundTrip', arguments = {} }
    if new then c:request_sync('workspace/executeCommand', params, 5000, 0)
    else c.request_sync('workspace/executeCommand', params, 5000, 0) end
    return vim.list_slice(_G.ghostline_messages, n + 1)
  ]], settings)
end

test('cross_file_budget: checked at setup against the server bounds, forwarded as crossFileBudget', function()
  -- Sent at start: setup's cross_file_budget = 0 is in the initialize
  -- request, and the server took it (no "ignored setting" message).
  eq(0, lua([[
    for _, c in pairs((vim.lsp.get_clients or vim.lsp.get_active_clients)()) do
      if c.name == 'ghostline' then return c.config.init_options.ghostline.crossFileBudget end
    end]]), 'crossFileBudget in initializationOptions')
  eq({}, lua([[return _G.ghostline_messages]]) or {}, 'server messages at start')
  -- Each value through setup: what the plugin would send, and its warning.
  -- A value the plugin refuses is sent to the server raw: the server must
  -- refuse it too, and take every value the plugin forwards.
  local cases = {
    { lua = 'nil', want = nil },
    { lua = '0', want = 0 },
    { lua = '1', want = 1 },
    { lua = '512', want = 512 },
    { lua = '1048576', want = 1048576 },
    { lua = '-1', raw = -1, warn = 'cross_file_budget must be an integer in 0..1048576, got -1' },
    { lua = '1048577', raw = 1048577, warn = 'got 1048577' },
    { lua = '256.5', raw = 256.5, warn = 'got 256.5' },
    { lua = '"512"', warn = 'got "512"' },
    { lua = 'true', warn = 'got true' },
    { lua = '0/0', warn = 'cross_file_budget must be an integer' },
    { lua = '1/0', warn = 'cross_file_budget must be an integer' },
  }
  for _, c in ipairs(cases) do
    local got = lua([[
      local cmd, code = ...
      local notes = {}
      local notify = vim.notify
      vim.notify = function(msg, level) table.insert(notes, { msg = msg, level = level }) end
      local ok, err = pcall(function()
        require('ghostline').setup({ cmd = cmd, debounce = 20, cross_file_budget = assert((loadstring or load)('return ' .. code))() })
      end)
      vim.notify = notify
      assert(ok, err)
      return { sent = require('ghostline')._settings().ghostline.crossFileBudget, notes = notes }
    ]], server_cmd, c.lua)
    eq(c.want, got.sent, 'cross_file_budget = ' .. c.lua .. ': crossFileBudget sent')
    if c.warn then
      eq(1, #got.notes, 'cross_file_budget = ' .. c.lua .. ': one warning')
      assert(got.notes[1].msg:find(c.warn, 1, true), 'warning ' .. vim.inspect(got.notes[1].msg) .. ' has ' .. c.warn)
      eq(lua('return vim.log.levels.WARN'), got.notes[1].level, 'a warning')
    else
      eq({}, got.notes, 'cross_file_budget = ' .. c.lua .. ': no warning')
    end
    if c.want ~= nil then
      eq({}, server_messages_for({ crossFileBudget = c.want }), 'the server takes crossFileBudget ' .. c.lua)
    elseif c.raw ~= nil then
      local m = server_messages_for({ crossFileBudget = c.raw })
      eq(1, #m, 'the server refuses crossFileBudget ' .. c.lua .. ' too')
      assert(m[1]:find('crossFileBudget', 1, true), 'the server names the setting: ' .. m[1])
    end
  end
  lua([[require('ghostline').setup({ cmd = ..., debounce = 20, cross_file_budget = 0 })]], server_cmd)
  eq({}, server_messages_for({ crossFileBudget = 0 }), 'back to 0')
end)

test('typing shows ghost text as an extmark; Tab accepts it whole', function()
  call('nvim_win_set_cursor', 0, { 6, 0 })
  input('Afmt.Pri')
  local g = wait_for('ghost text', answer_timeout, ghost)
  eq('i', mode(), 'still in insert mode')
  eq(5, g.row, 'extmark row')
  eq(#'\tfmt.Pri', g.col, 'extmark col (the cursor)')
  if fake then eq('ghost0(Pri)', g.text, 'ghost text') end
  check_drawn(g, shown_text())
  accept_whole('<Tab>')
  eq('i', mode(), 'still in insert mode')
  -- the accept reached the server's feedback log (workspace/executeCommand)
  wait_for('the accepted record', 2000, function()
    return vim.fn.filereadable(feedback) == 1 and table.concat(vim.fn.readfile(feedback), '\n'):find('"accepted"')
  end)
  input('<Esc>')
end)

test('typing along trims the suggestion; accept by word, then by line', function()
  input('o')
  -- fake: ghost0(val); the real model finishes the string and the call
  input(fake and 'val' or 'fmt.Println("Hello')
  wait_for('ghost text', answer_timeout, ghost)
  local row = cursor()[1]
  local typed = line(row)
  local full = shown_text()
  if fake then eq('ghost0(val)', full, 'ghost text') end
  local first = vim.split(full, '\n', { plain = true })[1]
  assert(#first >= 4, 'a suggestion of at least 4 characters on its first line, got ' .. vim.inspect(full))
  -- type the suggestion's first two characters: the ghost keeps the rest
  input((first:sub(1, 2):gsub('<', '<lt>')))
  wait_for('the trimmed ghost', 2000, function() return shown_text() == full:sub(3) end)
  eq(typed .. first:sub(1, 2), line(row), 'typed along')
  -- accept word: the next word of the rest; the remainder stays on screen
  input('<M-Right>')
  settle()
  local rest = shown_text()
  if fake then
    eq('\tvalghost0', line(row), 'line after accept word')
    eq('(val)', rest, 'ghost after accept word')
  end
  assert(rest and #rest < #full - 2, 'accept word took part of ' .. vim.inspect(full:sub(3)) .. ', left ' .. vim.inspect(rest))
  -- acceptedLength counts UTF-16 units of the item's text in the buffer:
  -- the two typed along and the word accepted, as VS Code counts them.
  local taken = full:sub(1, #full - #rest)
  local want_len = select(2, vim.str_utfindex(taken))
  if vim.fn.has('nvim-0.11') == 1 then want_len = vim.str_utfindex(taken, 'utf-16') end
  wait_for('a partial record of ' .. want_len, 2000, function()
    for _, l in ipairs(vim.fn.readfile(feedback)) do
      local r = vim.json.decode(l)
      if r.event == 'partial' and r.acceptedLength == want_len then return true end
    end
  end)
  eq(typed .. full:sub(1, #full - #rest), line(row), 'line after accept word: what was on screen before the rest')
  input('<M-Down>')
  settle()
  eq(typed .. first, line(row), 'line after accept word + line')
  if first == full then
    wait_for('the ghost to go', 2000, function() return ghost() == nil end)
  else
    -- the line break goes with the line: the cursor starts the next one
    eq({ row + 1, 0 }, cursor(), 'cursor at the start of the next line')
    eq(full:sub(#first + 2), shown_text(), 'the following lines stay on screen')
  end
  wait_for('didPartiallyAcceptCompletion in the feedback log', 2000, function()
    return table.concat(vim.fn.readfile(feedback), '\n'):find('"partial"')
  end)
  input('<Esc>')
end)

test('a multi-line suggestion: first line as virtual text, the rest as virt_lines; accept inserts all', function()
  input('o')
  input(fake and 'if x {' or 'for i := 0; i < 10; i++ {')
  local g = wait_for('ghost text', answer_timeout, ghost)
  local text = shown_text()
  if fake then
    eq('', g.text, 'first line (the suggestion starts with a line break)')
    eq({ '        ghost0()', '}' }, g.lines, 'following lines, tabs drawn as spaces')
  end
  assert(text:find('\n'), 'a multi-line suggestion after an opening brace, got ' .. vim.inspect(text))
  check_drawn(g, text)
  accept_whole('<Tab>')
  if fake then
    eq({ '\tif x {', '\tghost0()', '}' }, call('nvim_buf_get_lines', 0, 7, 10, true), 'lines after accept')
    eq({ 10, 1 }, cursor(), 'cursor at the end of the insert')
  end
  input('<Esc>')
end)

test('mid-line, a multi-line suggestion covers the rest of the line and draws it after its last line', function()
  input('o')
  -- "if i > 0 {|}": a body between braces, the closer after the cursor.
  input('if i > 0 }<Left>{')
  wait_for('ghost text', answer_timeout, ghost)
  local d = lua([[
    local ns = require('ghostline')._namespace
    local m = vim.api.nvim_buf_get_extmarks(0, ns, 0, -1, { details = true })[1][4]
    local lines = {}
    for _, vl in ipairs(m.virt_lines or {}) do
      local t = ''
      for _, chunk in ipairs(vl) do t = t .. chunk[1] end
      lines[#lines + 1] = t
    end
    return { pos = m.virt_text_pos, text = m.virt_text[1][1], lines = lines }
  ]])
  assert(shown_text():find('\n'), 'a multi-line suggestion for a body between braces, got ' .. vim.inspect(shown_text()))
  eq('overlay', d.pos, 'first line drawn over the rest of the line')
  assert(vim.fn.strdisplaywidth(d.text) >= 1, 'the first line covers "}": ' .. vim.inspect(d.text))
  assert(d.lines[#d.lines]:sub(-1) == '}', 'the rest of the line after the last line: ' .. vim.inspect(d.lines))
  if fake then
    eq(' ', d.text, 'an empty first line, padded to cover "}"')
    eq({ '        ghost0()', '}}' }, d.lines, 'the suggestion, then the rest of the line')
  end
  accept_whole('<Tab>')
  input('<Esc>')
end)

test('a suggestion that writes the closers after the cursor replaces them: drawn over them, and accepted over them', function()
  input('o')
  -- The closers an editor's auto-pairs would have inserted, the cursor
  -- before them, then a suggestion asked for there (<M-]>: moving the
  -- cursor asks for nothing). The real model may or may not write them
  -- itself (it answers 'Hello, " + name + "!' here, which leaves the
  -- document's '")' to close the string): either way the accept makes the
  -- line the item's range and text describe.
  if fake then
    input('f(REPLACE)<Left>')
  else
    input('name := "x"<CR>fmt.Println("")<Left><Left>')
  end
  settle()
  input('<M-]>')
  wait_for('ghost text', answer_timeout, ghost)
  local row = cursor()[1]
  local before = line(row)
  local sh = lua([[return require('ghostline')._shown()]])
  local d = lua([[
    local ns = require('ghostline')._namespace
    local m = vim.api.nvim_buf_get_extmarks(0, ns, 0, -1, { details = true })[1][4]
    local t = ''
    for _, chunk in ipairs(m.virt_text) do t = t .. chunk[1] end
    return { pos = m.virt_text_pos, text = t }
  ]])
  local want = before:sub(1, sh.col) .. sh.text .. before:sub(sh.replace_end + 1)
  if fake then
    eq('f(REPLACE', before:sub(sh.col - 8, sh.col), 'the cursor after "f(REPLACE"')
    eq(before:sub(1, sh.col) .. 'ghost0) + 1', want, 'the line the accept will make')
    eq(#before, sh.replace_end, 'the item covers ")"')
  end
  if sh.replace_end > sh.col then
    -- The line as it will be, drawn over what the item replaces.
    eq('overlay', d.pos, 'drawn over the rest of the line')
    eq(want:sub(sh.col + 1), vim.trim(d.text), 'the rest of the line as the accept will make it')
  end
  if fake then
    -- A word first: the rest still replaces ")" when accepted.
    input('<M-Right>')
    settle()
    eq(before:sub(1, sh.col) .. 'ghost0)', line(row), 'after accepting a word')
  end
  input('<Tab>')
  wait_for('the accept', 2000, function() return ghost() == nil end)
  settle()
  eq(want, line(row), 'the line after the accept')
  input('<Esc>')
end)

test('moving the cursor, leaving insert mode or <C-]> hides the ghost text', function()
  input('o')
  -- fake: any text will do; the real model completes the string at the end
  -- of the line (keys typed in the middle of a line may get no suggestion)
  input(fake and 'abc' or 'fmt.Println("Hel')
  wait_for('ghost text', answer_timeout, ghost)
  input('<Left>')
  wait_for('the ghost to go on cursor move', 2000, function() return ghost() == nil end)
  input(fake and 'd' or '<End>l')
  wait_for('ghost text', answer_timeout, ghost)
  input('<C-]>')
  wait_for('the ghost to go on <C-]>', 2000, function() return ghost() == nil end)
  eq('i', mode(), '<C-]> stays in insert mode')
  input(fake and 'e' or 'o')
  wait_for('ghost text', answer_timeout, ghost)
  input('<Esc>')
  wait_for('the ghost to go on <Esc>', 2000, function() return ghost() == nil end)
  eq('n', mode(), 'normal mode')
end)

test('Tab without a suggestion inserts a tab', function()
  input('o')
  settle()
  lua([[require('ghostline').dismiss()]])
  input('<Tab>')
  settle()
  eq('\t', line(call('nvim_win_get_cursor', 0)[1]):sub(-1), 'a literal tab')
  input('<Esc>')
end)

test('Alt+Right and Alt+Down without a suggestion move the cursor, typing nothing', function()
  input('o')
  settle()
  local row = call('nvim_win_get_cursor', 0)[1]
  call('nvim_buf_set_lines', 0, row - 1, row, false, { 'abc', 'def' })
  call('nvim_win_set_cursor', 0, { row, 0 })
  lua([[require('ghostline').dismiss()]])
  input('<M-Right>X')
  settle()
  eq('aXbc', line(row), 'Alt+Right moved one character right')
  lua([[require('ghostline').dismiss()]])
  call('nvim_win_set_cursor', 0, { row, 0 })
  input('<M-Down>Y')
  settle()
  eq('Ydef', line(row + 1), 'Alt+Down moved one line down')
  input('<Esc>')
  -- Leave the file as it was: later tests complete in it.
  call('nvim_buf_set_lines', 0, row - 1, row + 1, false, {})
end)

test('Invoked: <M-]> asks for alternatives and cycles through them', function()
  input('o')
  input('foo')
  wait_for('ghost text', answer_timeout, ghost)
  input('<M-]>')
  if fake then
    -- ghost0 is on screen (Automatic: one item); the first press asks for
    -- alternatives (Invoked: three) and shows one that differs, the next
    -- presses cycle through them.
    for _, want in ipairs({ 'ghost1(foo)', 'ghost2(foo)', 'ghost0(foo)', 'ghost1(foo)' }) do
      wait_for(want, answer_timeout, function() local x = ghost() return x and x.text == want end)
      eq(3, lua([[return require('ghostline')._shown().items]]), 'alternatives')
      input('<M-]>')
    end
  else
    wait_for('ghost text', answer_timeout, ghost)
  end
  input('<Esc>')
end)

test('textDocument/completion fallback also gives ghost text', function()
  lua([[require('ghostline').setup({ cmd = ..., debounce = 20, force_completion_fallback = true })]], server_cmd)
  input('o')
  input('bar')
  local g = wait_for('ghost text', answer_timeout, ghost)
  if fake then eq('ghost0(bar)', g.text, 'the item minus the word already typed') end
  check_drawn(g, shown_text())
  accept_whole('<Tab>')
  input('<Esc>')
  lua([[require('ghostline').setup({ cmd = ..., debounce = 20 })]], server_cmd)
end)

test('a CRLF file: the suggestion goes in without a stray carriage return', function()
  -- Neovim sends a fileformat=dos buffer with CRLF line breaks, and the
  -- server answers in the document's breaks; buffer lines never hold the
  -- "\r" (Neovim adds it on write), so a kept one would show as ^M.
  local path = tmp .. '/crlf.go'
  local f = assert(io.open(path, 'wb'))
  f:write('package main\r\n\r\nfunc main() {\r\n\t\r\n}\r\n')
  f:close()
  call('nvim_command', 'edit ' .. vim.fn.fnameescape(path))
  eq('dos', lua('return vim.bo.fileformat'), 'fileformat')
  wait_for('the ghostline client', 5000, function()
    return lua([[for _, c in pairs((vim.lsp.get_clients and vim.lsp.get_clients({ bufnr = 0 }) or vim.lsp.buf_get_clients(0))) do if c.name == 'ghostline' then return true end end]])
  end)
  call('nvim_win_set_cursor', 0, { 4, 1 })
  input('A')
  input(fake and 'if x {' or 'for i := 0; i < 10; i++ {')
  wait_for('ghost text', answer_timeout, ghost)
  local text = shown_text()
  assert(not text:find('\r'), 'carriage return in the suggestion on screen: ' .. vim.inspect(text))
  if fake then
    -- accept line: "\r\n\tghost0()\r\n" of the item, 13 UTF-16 units
    input('<M-Down>')
    wait_for('a partial record of 13', 2000, function()
      for _, l in ipairs(vim.fn.readfile(feedback)) do
        local r = vim.json.decode(l)
        if r.event == 'partial' and r.acceptedLength == 13 then return true end
      end
    end)
  end
  accept_whole('<Tab>')
  input('<Esc>')
  for i, l in ipairs(buf_lines()) do
    assert(not l:find('\r'), ('carriage return in line %d after accepting: %s'):format(i, vim.inspect(l)))
  end
  if fake then
    eq({ '\tif x {', '\tghost0()', '}' }, call('nvim_buf_get_lines', 0, 3, 6, true), 'lines after accept')
  end
  call('nvim_command', 'bwipeout! ' .. vim.fn.fnameescape(path))
  call('nvim_command', 'buffer ' .. vim.fn.fnameescape(tmp .. '/main.go'))
end)

test('a markdown buffer is left alone', function()
  call('nvim_command', 'edit ' .. vim.fn.fnameescape(tmp .. '/notes.md'))
  eq('markdown', lua('return vim.bo.filetype'), 'filetype')
  settle()
  eq(0, lua([[local n = 0 for _, c in pairs((vim.lsp.get_clients and vim.lsp.get_clients({ bufnr = 0 }) or vim.lsp.buf_get_clients(0))) do if c.name == 'ghostline' then n = n + 1 end end return n]]), 'ghostline clients on the buffer')
  call('nvim_command', 'buffer ' .. vim.fn.fnameescape(tmp .. '/main.go'))
end)

test('the server shuts down cleanly when the client stops', function()
  lua([[for _, c in pairs((vim.lsp.get_clients or vim.lsp.get_active_clients)()) do if c.name == 'ghostline' then if vim.fn.has('nvim-0.11') == 1 then c:stop() else c.stop() end end end]])
  wait_for('the server to exit', 5000, function() return lua([[return require('ghostline')._exit_code]]) ~= nil end)
  eq(0, lua([[return require('ghostline')._exit_code]]), 'server exit status')
  eq('off', lua([[return require('ghostline').status()]]), 'status')
end)

test(':GhostlineRestart brings back a server for the open buffers', function()
  -- The previous test stopped the server: the open buffer gets nothing.
  eq('off', lua([[return require('ghostline').status()]]), 'status before')
  lua([[require('ghostline')._exit_code = nil]])
  call('nvim_command', 'GhostlineRestart')
  wait_for('a server again', 5000, function() return lua([[return require('ghostline').status()]]) ~= 'off' end)
  wait_for('the model loaded again', load_timeout, function() return lua([[return require('ghostline')._loaded()]]) end)
  input('o')
  input(fake and 'abc' or 'fmt.Println("Hel')
  wait_for('ghost text after the restart', answer_timeout, ghost)
  input('<Esc>')
end)

test('a file under a second project root joins the one server as a workspace folder', function()
  local other = tmp .. '/other'
  vim.fn.mkdir(other, 'p')
  vim.fn.writefile({ 'module other' }, other .. '/go.mod')
  vim.fn.writefile({ 'package other', '' }, other .. '/o.go')
  call('nvim_command', 'edit ' .. other .. '/o.go')
  wait_for('the second root among the folders', 5000, function()
    return lua([[
      for _, c in pairs((vim.lsp.get_clients or vim.lsp.get_active_clients)()) do
        if c.name == 'ghostline' then
          for _, f in ipairs(c.workspace_folders or {}) do
            if f.uri == vim.uri_from_fname(...) then return true end
          end
        end
      end
      return false]], other)
  end)
  local n = lua([[local n = 0 for _, c in pairs((vim.lsp.get_clients or vim.lsp.get_active_clients)()) do if c.name == 'ghostline' then n = n + 1 end end return n]])
  eq(1, n, 'one server')
  call('nvim_command', 'buffer #')
end)

test('no errors or deprecation warnings in :messages', function()
  local msgs = call('nvim_exec', 'messages', true)
  for _, bad in ipairs({ 'deprecated', 'Error', 'error', 'E%d+:' }) do
    assert(not msgs:find(bad), ':messages has ' .. bad .. ':\n' .. msgs)
  end
end)

vim.fn.jobstop(child)
vim.fn.delete(tmp, 'rf')
out:write(('%d passed, %d failed\n'):format(passed, failed))
out:flush()
vim.cmd((failed > 0 or passed == 0) and 'cquit 1' or 'qall!')

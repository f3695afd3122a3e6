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
lua([[require('ghostline').setup({ cmd = ..., debounce = 20 })]], server_cmd)

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

test('typing shows ghost text as an extmark; Tab accepts it whole', function()
  call('nvim_win_set_cursor', 0, { 6, 0 })
  input('Afmt.Pri')
  local g = wait_for('ghost text', answer_timeout, ghost)
  eq('i', mode(), 'still in insert mode')
  eq(5, g.row, 'extmark row')
  eq(#'\tfmt.Pri', g.col, 'extmark col (the cursor)')
  if fake then eq('ghost0(Pri)', g.text, 'ghost text') end
  local text = g.text
  input('<Tab>')
  wait_for('the accept', 2000, function() return ghost() == nil end)
  eq('\tfmt.Pri' .. text, line(6), 'line after accept')
  eq({ 6, #line(6) }, call('nvim_win_get_cursor', 0), 'cursor after the inserted text')
  eq('i', mode(), 'still in insert mode')
  -- the accept reached the server's feedback log (workspace/executeCommand)
  wait_for('the accepted record', 2000, function()
    return vim.fn.filereadable(feedback) == 1 and table.concat(vim.fn.readfile(feedback), '\n'):find('"accepted"')
  end)
  input('<Esc>')
end)

test('typing along trims the suggestion; accept by word, then by line', function()
  input('o')
  input('val')
  local g = wait_for('ghost text', answer_timeout, ghost)
  if fake then eq('ghost0(val)', g.text, 'ghost text') end
  local full = g.text
  -- type the suggestion's first two characters: the ghost keeps the rest
  input(full:sub(1, 2))
  wait_for('the trimmed ghost', 2000, function() local x = ghost() return x and x.text == full:sub(3) end)
  -- accept word: the next word of the rest; the remainder stays on screen
  input('<M-Right>')
  settle()
  local after = ghost()
  if fake then
    eq('\tvalghost0', line(7), 'line after accept word')
    eq('(val)', after and after.text, 'ghost after accept word')
  else
    assert(#line(7) > #'\tval' + 2, 'accept word inserted something')
  end
  input('<M-Down>')
  wait_for('the ghost to go', 2000, function() return ghost() == nil end)
  eq('\tval' .. full, line(7), 'line after accept word + line')
  wait_for('didPartiallyAcceptCompletion in the feedback log', 2000, function()
    return table.concat(vim.fn.readfile(feedback), '\n'):find('"partial"')
  end)
  input('<Esc>')
end)

test('a multi-line suggestion: first line as virtual text, the rest as virt_lines; accept inserts all', function()
  input('o')
  if fake then
    input('if x {')
    local g = wait_for('ghost text', answer_timeout, ghost)
    eq('', g.text, 'first line (the suggestion starts with a line break)')
    eq({ '        ghost0()', '}' }, g.lines, 'following lines, tabs drawn as spaces')
    input('<Tab>')
    settle()
    eq({ '\tif x {', '\tghost0()', '}' }, call('nvim_buf_get_lines', 0, 7, 10, true), 'lines after accept')
    eq({ 10, 1 }, call('nvim_win_get_cursor', 0), 'cursor at the end of the insert')
  else
    input('for i := 0; i < 10; i++ {')
    local g = wait_for('ghost text', answer_timeout, ghost)
    local n = #g.lines + 1
    input('<Tab>')
    settle()
    eq(8 + n - 1, call('nvim_win_get_cursor', 0)[1], 'cursor on the last inserted line')
  end
  input('<Esc>')
end)

test('moving the cursor, leaving insert mode or <C-]> hides the ghost text', function()
  input('o')
  input('abc')
  wait_for('ghost text', answer_timeout, ghost)
  input('<Left>')
  wait_for('the ghost to go on cursor move', 2000, function() return ghost() == nil end)
  input('d')
  wait_for('ghost text', answer_timeout, ghost)
  input('<C-]>')
  wait_for('the ghost to go on <C-]>', 2000, function() return ghost() == nil end)
  eq('i', mode(), '<C-]> stays in insert mode')
  input('e')
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
  input('<Tab>')
  settle()
  eq('\tbar' .. g.text, line(call('nvim_win_get_cursor', 0)[1]), 'accepted')
  input('<Esc>')
  lua([[require('ghostline').setup({ cmd = ..., debounce = 20 })]], server_cmd)
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

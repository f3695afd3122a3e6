function format(x) {
  return String(x);
}
module.exports = { format };

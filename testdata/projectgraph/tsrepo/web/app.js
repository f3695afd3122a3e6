const { format } = require('./helpers');
const lodash = require('lodash');

function render(x) {
  return format(x);
}

module.exports = { render };

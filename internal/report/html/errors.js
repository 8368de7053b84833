// Shows the page's script errors in #js-errors, where a reader (and the
// browser test) sees them: uncaught errors, rejected promises,
// console.error and Content-Security-Policy violations.
(function () {
  'use strict';
  var pending = [];
  function show(msg) {
    var box = document.getElementById('js-errors');
    if (!box) {
      pending.push(msg);
      return;
    }
    var p = document.createElement('p');
    p.textContent = 'Script error: ' + msg;
    box.appendChild(p);
    box.hidden = false;
  }
  window.addEventListener('error', function (e) {
    show((e.message || 'error') + (e.filename ? ' (' + e.filename + ':' + e.lineno + ')' : ''));
  });
  window.addEventListener('unhandledrejection', function (e) {
    show('unhandled rejection: ' + e.reason);
  });
  document.addEventListener('securitypolicyviolation', function (e) {
    show('blocked by the content security policy: ' + e.violatedDirective + ' ' + (e.blockedURI || 'inline'));
  });
  var consoleError = console.error;
  console.error = function () {
    show(Array.prototype.join.call(arguments, ' '));
    return consoleError.apply(console, arguments);
  };
  document.addEventListener('DOMContentLoaded', function () {
    pending.splice(0).forEach(show);
  });
})();

/* /user/login: POST /user/login, then back to ?next= (same-site paths
 * only) or the user centre. */
(function () {
  'use strict';

  /* Only a path on this site: "/..." but not "//host" or "/\host". */
  function safeNext(n) {
    if (!n || n.charAt(0) !== '/' || n.charAt(1) === '/' || n.charAt(1) === '\\') return '/user/';
    if (/[\u0000-\u001f\u007f]/.test(n)) return '/user/';
    return n;
  }

  DF.header();
  var form = document.getElementById('login-form');
  var button = document.getElementById('login');
  var name = DF.query('username');
  if (name) document.getElementById('username').value = name;
  if (DF.query('registered')) DF.message('注册成功，请登录', 'info');

  form.addEventListener('submit', function (e) {
    e.preventDefault();
    var data = {
      username: document.getElementById('username').value.trim(),
      pwd: document.getElementById('pwd').value
    };
    if (document.getElementById('remember').checked) data.remember = 'on';
    button.disabled = true;
    DF.message('');
    DF.api('POST', '/user/login', data).then(function (a) {
      if (a.res === 5) {
        DF.message(a.message || '登录成功', 'info');
        location.href = safeNext(DF.query('next'));
        return;
      }
      button.disabled = false;
      DF.message(a.errmsg || '登录失败');
    }, function (err) {
      button.disabled = false;
      DF.message(err.message);
    });
  });
})();

/* /user/register: POST /user/register; registering does not log in, so
 * success goes to the login page with the name filled in. */
(function () {
  'use strict';
  DF.header();
  var form = document.getElementById('register-form');
  var button = document.getElementById('register');

  function val(id) { return document.getElementById(id).value; }

  form.addEventListener('submit', function (e) {
    e.preventDefault();
    var data = { user_name: val('user_name').trim(), pwd: val('pwd'), cpwd: val('cpwd'), email: val('email').trim() };
    if (document.getElementById('allow').checked) data.allow = 'on';
    button.disabled = true;
    DF.message('');
    DF.api('POST', '/user/register', data).then(function (a) {
      if (a.res === 8) {
        DF.message(a.message || '注册成功', 'info');
        location.href = '/user/login?registered=1&username=' + encodeURIComponent(data.user_name);
        return;
      }
      button.disabled = false;
      DF.message(a.errmsg || '注册失败');
    }, function (err) {
      button.disabled = false;
      DF.message(err.message);
    });
  });
})();

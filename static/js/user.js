/* /user/: the user centre — name, email, default address and the recently
 * viewed goods from GET /api/user/info. */
(function () {
  'use strict';
  DF.header();

  function text(id, s) { document.getElementById(id).textContent = s; }

  function addressText(a) {
    if (!a) return '';
    return a.receiver + ' ' + a.phone + ' ' + a.addr + (a.zip_code ? ' (' + a.zip_code + ')' : '');
  }

  function card(g) {
    var href = '/goods/' + encodeURIComponent(g.id);
    return '<div class="goods-card card">' +
      '<a href="' + DF.esc(href) + '"><img src="' + DF.esc(DF.image(g.image)) + '" alt="' + DF.esc(g.name) +
      '" width="200" height="200" loading="lazy"><h3 class="name">' + DF.esc(g.name) + '</h3></a>' +
      '<div><span class="price">¥' + DF.esc(g.price) + '</span> <span class="muted">/' + DF.esc(g.unite || '') +
      '</span></div></div>';
  }

  DF.requireLogin().then(function (u) {
    if (!u) return null;
    return DF.api('GET', '/api/user/info').then(function (a) {
      if (a.res !== 1) { DF.message(a.errmsg || '加载失败'); return; }
      text('user-name', a.user.username);
      text('user-email', a.user.email || '');
      var dflt = document.getElementById('default-address');
      if (a.address) {
        dflt.textContent = addressText(a.address);
      } else {
        dflt.innerHTML = '<span class="muted">暂无默认地址，</span><a href="/user/address">去添加</a>';
      }
      var h = document.getElementById('history');
      var list = a.history || [];
      h.innerHTML = list.length ? list.map(card).join('') : '<p class="muted empty">暂无浏览记录</p>';
    });
  }).catch(function (err) {
    DF.message(err.message);
  });
})();

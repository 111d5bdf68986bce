/* /user/address: the address book — the list from GET /api/user/address,
 * adding (POST /user/address) and choosing the default
 * (POST /user/address/default). */
(function () {
  'use strict';
  DF.header();
  var box = document.getElementById('addresses');
  var form = document.getElementById('address-form');
  var addButton = document.getElementById('add-address');

  function row(a) {
    return '<div class="address card' + (a.is_default ? ' default' : '') + '" data-id="' + DF.esc(a.id) + '">' +
      '<div class="who"><strong class="receiver">' + DF.esc(a.receiver) + '</strong> <span class="phone">' +
      DF.esc(a.phone) + '</span></div>' +
      '<div class="addr">' + DF.esc(a.addr) + (a.zip_code ? ' <span class="muted">(' + DF.esc(a.zip_code) + ')</span>' : '') +
      '</div><div class="actions">' +
      (a.is_default ? '<span class="is-default">默认地址</span>'
        : '<button type="button" class="set-default secondary" data-id="' + DF.esc(a.id) + '">设为默认</button>') +
      '</div></div>';
  }

  function load() {
    return DF.api('GET', '/api/user/address').then(function (a) {
      if (a.res !== 1) { DF.message(a.errmsg || '加载失败'); return; }
      var list = a.addresses || [];
      box.innerHTML = list.length ? list.map(row).join('') : '<p class="muted empty">还没有收货地址，请在下面添加。</p>';
    });
  }

  box.addEventListener('click', function (e) {
    var b = e.target.closest && e.target.closest('button.set-default');
    if (!b) return;
    b.disabled = true;
    DF.api('POST', '/user/address/default', { addr_id: b.getAttribute('data-id') }).then(function (a) {
      if (a.res !== 3) { b.disabled = false; DF.message(a.errmsg || '设置失败'); return null; }
      DF.message(a.message || '设置成功', 'info');
      return load();
    }).catch(function (err) {
      b.disabled = false;
      DF.message(err.message);
    });
  });

  form.addEventListener('submit', function (e) {
    e.preventDefault();
    var data = {};
    ['receiver', 'addr', 'zip_code', 'phone'].forEach(function (k) {
      data[k] = document.getElementById(k).value.trim();
    });
    if (!data.zip_code) delete data.zip_code;
    addButton.disabled = true;
    DF.api('POST', '/user/address', data).then(function (a) {
      addButton.disabled = false;
      if (a.res !== 5) { DF.message(a.errmsg || '添加失败'); return null; }
      DF.message(a.message || '添加成功', 'info');
      form.reset();
      return load();
    }).catch(function (err) {
      addButton.disabled = false;
      DF.message(err.message);
    });
  });

  DF.requireLogin().then(function (u) {
    if (u) return load();
    return null;
  }).catch(function (err) {
    DF.message(err.message);
  });
})();

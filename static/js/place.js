/* The order page: /order/place?sku_ids=1,2 (GET /api/order/preview), then
 * POST /order/commit with one Idempotency-Key per page load and the total
 * the buyer was shown: when prices changed meanwhile the commit answers
 * res 8 with the new amounts, shown here before the buyer confirms again. */
(function () {
  'use strict';
  var esc = DF.esc;
  var box = document.getElementById('place');
  var PAY = [[1, '货到付款'], [2, '微信支付'], [3, '支付宝'], [4, '银联支付']];
  var REASON = { bad_id: '商品编号无效', unknown: '商品不存在', offline: '商品已下架', not_in_cart: '购物车中没有该商品' };
  var TOO_LARGE = { amount_too_large: '订单金额超出上限', count_too_large: '商品数量超出上限' };
  var skuIds = [];
  var shownPay = null; /* the total_pay on the page, sent with the commit */

  /* One key per page load: a double click or a retry places one order. */
  var idemKey = (function () {
    var c = window.crypto;
    if (c && typeof c.randomUUID === 'function') return c.randomUUID();
    var b = new Uint8Array(16);
    if (c && c.getRandomValues) c.getRandomValues(b);
    else for (var i = 0; i < 16; i++) b[i] = Math.floor(Math.random() * 256);
    return Array.prototype.map.call(b, function (x) { return ('0' + x.toString(16)).slice(-2); }).join('');
  })();

  function toLogin() {
    location.href = '/user/login?next=' + encodeURIComponent(location.pathname + location.search);
  }

  function skuError(a) {
    var why = REASON[a.reason];
    return (a.errmsg || '商品不存在') + (a.sku_id !== undefined ? '（商品 ' + a.sku_id + (why ? '：' + why : '') + '）' : '');
  }

  function failure(a) {
    var why = TOO_LARGE[a.reason];
    return (a.errmsg || '下单失败') + (why ? '（' + why + '）' : '');
  }

  function fail(text) {
    DF.message(text);
    box.innerHTML = '<p><a href="/cart/">返回购物车</a></p>';
  }

  function render(a) {
    var addrs = a.addresses || [];
    var def = addrs.filter(function (x) { return x.is_default; })[0] || addrs[0];
    skuIds = (a.skus || []).map(function (s) { return s.id; });
    shownPay = a.total_pay;
    box.innerHTML =
      '<h2>确认收货地址</h2>' +
      (addrs.length ? '<div class="addresses">' + addrs.map(function (x) {
        return '<label class="addr-choice"><input type="radio" name="addr_id" value="' + esc(x.id) + '"' + (x === def ? ' checked' : '') + '> ' +
          esc(x.addr) + '（' + esc(x.receiver) + ' 收）' + esc(x.phone) + (x.is_default ? ' <span class="tag">默认</span>' : '') + '</label>';
      }).join('') + '</div><p><a href="/user/address">编辑收货地址</a></p>'
        : '<p class="no-address">还没有收货地址，请先<a href="/user/address">添加收货地址</a>。</p>') +
      '<h2>支付方式</h2><div class="pay-methods">' + PAY.map(function (p) {
        return '<label class="pay-choice"><input type="radio" name="pay_method" value="' + p[0] + '"' + (p[0] === 3 ? ' checked' : '') + '> ' + p[1] + '</label>';
      }).join('') + '</div>' +
      '<h2>商品列表</h2>' +
      '<table class="list stack place-table"><thead><tr><th>商品</th><th>单位</th><th>价格</th><th>数量</th><th>小计</th></tr></thead><tbody>' +
      (a.skus || []).map(function (s) {
        return '<tr class="place-line" data-sku="' + esc(s.id) + '">' +
          '<td class="col-goods"><img class="thumb" src="' + esc(DF.image(s.image)) + '" alt=""><span class="name">' + esc(s.name) + '</span></td>' +
          '<td data-label="单位">' + esc(s.unite) + '</td>' +
          '<td data-label="价格">¥<span class="price">' + esc(s.price) + '</span></td>' +
          '<td data-label="数量"><span class="count">' + esc(s.count) + '</span></td>' +
          '<td data-label="小计">¥<span class="amount">' + esc(s.amount) + '</span></td></tr>';
      }).join('') + '</tbody></table>' +
      '<h2>总金额结算</h2><div class="place-totals">' +
      '<p>共 <em id="total-count">' + esc(a.total_count) + '</em> 件商品，总金额 ¥<em id="total-price">' + esc(a.total_price) + '</em></p>' +
      '<p>运费：¥<em id="transit-price">' + esc(a.transit_price) + '</em></p>' +
      '<p class="pay-line">实付款：¥<em id="total-pay" class="price">' + esc(a.total_pay) + '</em></p></div>' +
      '<p class="commit-bar"><button type="button" id="commit"' + (addrs.length ? '' : ' disabled') + '>提交订单</button></p>';
    document.getElementById('commit').addEventListener('click', commit);
  }

  function commit() {
    var btn = document.getElementById('commit');
    if (btn.disabled) return;
    var addr = box.querySelector('input[name=addr_id]:checked');
    var pay = box.querySelector('input[name=pay_method]:checked');
    if (!addr) { DF.message('请选择收货地址'); return; }
    if (!pay) { DF.message('请选择支付方式'); return; }
    btn.disabled = true;
    btn.textContent = '正在提交…';
    DF.api('POST', '/order/commit', { addr_id: addr.value, pay_method: pay.value, sku_ids: skuIds.join(','), total_pay: shownPay },
      { 'Idempotency-Key': idemKey }).then(function (a) {
      if (a.res === 5) {
        DF.message('订单创建成功', 'info');
        location.href = '/user/order/1';
        return;
      }
      if (a.res === 0) return toLogin();
      btn.disabled = false;
      btn.textContent = '提交订单';
      if (a.res === 8) return showNewPrices(a, btn);
      DF.message(a.res === 4 || a.res === 6 ? skuError(a) : failure(a));
    }).catch(function (err) {
      /* the same key again: a retry cannot place a second order */
      btn.disabled = false;
      btn.textContent = '提交订单';
      DF.message(err.message);
    });
  }

  /* res 8: the amounts the order would now cost replace the ones shown;
   * the next press of the button commits those. */
  function showNewPrices(a, btn) {
    (a.skus || []).forEach(function (s) {
      var tr = box.querySelector('tr.place-line[data-sku="' + s.id + '"]');
      if (!tr) return;
      tr.classList.add('changed');
      tr.querySelector('.price').textContent = s.price;
      tr.querySelector('.count').textContent = s.count;
      tr.querySelector('.amount').textContent = s.amount;
    });
    document.getElementById('total-count').textContent = a.total_count;
    document.getElementById('total-price').textContent = a.total_price;
    document.getElementById('transit-price').textContent = a.transit_price;
    document.getElementById('total-pay').textContent = a.total_pay;
    shownPay = a.total_pay;
    btn.textContent = '确认新金额并提交订单';
    DF.message((a.errmsg || '商品价格已变化') + '，实付款现为 ¥' + a.total_pay + '，请确认后再次提交订单');
  }

  DF.header();
  var ids = (DF.query('sku_ids') || '').split(',').map(function (s) { return s.trim(); }).filter(Boolean);
  DF.requireLogin().then(function (u) {
    if (!u) return null;
    if (!ids.length) return fail('请先在购物车中选择要结算的商品');
    return DF.api('GET', '/api/order/preview', { sku_ids: ids.join(',') }).then(function (a) {
      if (a.res === 0) return toLogin();
      if (a.res === 4) return fail(skuError(a));
      if (a.res === 7) return fail(failure(a));
      if (a.res !== 5) return fail(a.errmsg || '订单信息加载失败');
      render(a);
    });
  }).catch(function (err) {
    fail(err.message);
  });
})();

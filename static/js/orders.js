/* The user's orders: /user/order/<page> (GET /api/orders?page=N). Pay an
 * unpaid Alipay order (POST /order/pay, the cashier in a new tab) and poll
 * POST /order/check every 2 s until it is paid or has failed. */
(function () {
  'use strict';
  var esc = DF.esc;
  var box = document.getElementById('orders');
  var page = DF.pathIds()[0] || 1;
  var POLL_MS = 2000, POLL_MAX_MS = 10 * 60 * 1000;
  var REASON = {
    trade_closed: '交易已关闭', bad_signature: '签名校验失败', amount_mismatch: '金额不符',
    gateway_error: '支付网关出错', gateway_unavailable: '支付网关暂时无法访问', cancelled: '订单已超时取消',
    not_found: '订单不存在', not_alipay: '不是支付宝订单', not_unpaid: '订单不是待支付状态', expired: '订单已过期'
  };

  function toLogin() {
    location.href = '/user/login?next=' + encodeURIComponent(location.pathname + location.search);
  }

  function why(a, fallback) {
    return (a.errmsg || fallback) + (REASON[a.reason] ? '（' + REASON[a.reason] + '）' : '');
  }

  function commentLink(id) {
    return '<a class="comment button" href="/order/comment/' + encodeURIComponent(id) + '">去评价</a>';
  }

  function orderHtml(o) {
    var st = Number(o.status), canPay = st === 1 && Number(o.pay_method) === 3;
    return '<section class="order" data-order-id="' + esc(o.order_id) + '">' +
      '<div class="order-head"><span>' + esc(o.create_time) + '</span><span>订单号：' + esc(o.order_id) + '</span>' +
      '<span class="status-name status-' + esc(st) + '">' + esc(o.status_name) + '</span></div>' +
      '<table class="list stack order-items"><tbody>' + (o.items || []).map(function (it) {
        var href = '/goods/' + encodeURIComponent(it.sku_id);
        return '<tr class="order-item" data-sku="' + esc(it.sku_id) + '">' +
          '<td class="col-goods"><a href="' + href + '"><img class="thumb" src="' + esc(DF.image(it.image)) + '" alt=""></a>' +
          '<a class="name" href="' + href + '">' + esc(it.name) + '</a></td>' +
          '<td data-label="单价">¥' + esc(it.price) + '/' + esc(it.unite) + '</td>' +
          '<td data-label="数量">' + esc(it.count) + '</td>' +
          '<td data-label="小计">¥' + esc(it.amount) + '</td></tr>';
      }).join('') + '</tbody></table>' +
      '<div class="order-foot"><span>共 ' + esc(o.total_count) + ' 件，' + esc(o.pay_method_name) +
      '，含运费 ¥' + esc(o.transit_price) + '</span>' +
      '<span>实付 ¥<em class="total-pay price">' + esc(o.total_pay) + '</em></span>' +
      '<span class="actions">' + (canPay ? '<button type="button" class="pay">去付款</button>' : '') +
      (st === 4 ? commentLink(o.order_id) : '') + '</span></div>' +
      '<p class="order-note muted" hidden></p></section>';
  }

  function pager(a) {
    var n = Number(a.num_pages) || 1, p = Number(a.page) || page;
    var nav = document.getElementById('pager');
    if (n <= 1) { nav.innerHTML = ''; return; }
    var from = Math.max(1, Math.min(p - 2, n - 4)), to = Math.min(n, from + 4), html = '';
    if (p > 1) html += '<a class="prev" href="/user/order/' + (p - 1) + '">上一页</a>';
    for (var i = from; i <= to; i++) {
      html += '<a href="/user/order/' + i + '"' + (i === p ? ' class="current" aria-current="page"' : '') + '>' + i + '</a>';
    }
    if (p < n) html += '<a class="next" href="/user/order/' + (p + 1) + '">下一页</a>';
    nav.innerHTML = html;
  }

  function note(sec, html) {
    var el = sec.querySelector('.order-note');
    el.innerHTML = html;
    el.hidden = !html;
  }

  function paid(sec) {
    sec.querySelector('.status-name').textContent = '待评价';
    sec.querySelector('.actions').innerHTML = commentLink(sec.getAttribute('data-order-id'));
    note(sec, '');
    DF.message('支付成功', 'info');
  }

  function resetPay(sec) {
    var btn = sec.querySelector('button.pay');
    if (btn) { btn.disabled = false; btn.textContent = '去付款'; }
  }

  /* One check at a time, the next 2 s after the answer. */
  function poll(sec, deadline) {
    if (!document.body.contains(sec)) return;
    if (Date.now() > deadline) {
      resetPay(sec);
      note(sec, '');
      DF.message('长时间未完成支付，请稍后刷新页面查看订单状态');
      return;
    }
    var id = sec.getAttribute('data-order-id');
    DF.api('POST', '/order/check', { order_id: id }).then(function (a) {
      if (a.res === 3) return paid(sec);
      if (a.res === 5) return setTimeout(function () { poll(sec, deadline); }, POLL_MS);
      resetPay(sec);
      note(sec, '');
      if (a.res === 0) return toLogin();
      DF.message(why(a, '支付失败'));
    }, function (err) {
      /* a network hiccup: say so and keep asking */
      DF.message(err.message);
      setTimeout(function () { poll(sec, deadline); }, POLL_MS);
    });
  }

  function pay(sec, btn) {
    var id = sec.getAttribute('data-order-id');
    btn.disabled = true;
    btn.textContent = '正在打开支付页…';
    DF.api('POST', '/order/pay', { order_id: id }).then(function (a) {
      if (a.res === 3 && /^https?:\/\//i.test(a.pay_url || '')) {
        var w = window.open(a.pay_url, '_blank');
        btn.textContent = '等待支付…';
        note(sec, (w ? '已在新窗口打开支付页面，' : '浏览器拦截了弹出窗口，') +
          '<a class="pay-link" target="_blank" rel="noopener" href="' + esc(a.pay_url) + '">点此打开支付页面</a>');
        DF.message('');
        setTimeout(function () { poll(sec, Date.now() + POLL_MAX_MS); }, POLL_MS);
        return;
      }
      resetPay(sec);
      if (a.res === 0) return toLogin();
      DF.message(a.res === 3 ? '支付地址无效' : why(a, '无法发起支付'));
    }).catch(function (err) {
      resetPay(sec);
      DF.message(err.message);
    });
  }

  box.addEventListener('click', function (e) {
    var btn = e.target.closest('button.pay');
    if (btn && !btn.disabled) pay(btn.closest('.order'), btn);
  });

  DF.header();
  DF.requireLogin().then(function (u) {
    if (!u) return null;
    return DF.api('GET', '/api/orders', { page: page }).then(function (a) {
      if (a.res === 0) return toLogin();
      if (a.res !== 5) throw new Error(a.errmsg || '订单加载失败');
      var orders = a.orders || [];
      box.innerHTML = orders.length ? orders.map(orderHtml).join('')
        : '<p class="empty">' + (Number(a.total) > 0 ? '这一页没有订单，<a href="/user/order/1">回到第一页</a>' : '还没有订单，<a href="/">去逛逛</a>') + '</p>';
      pager(a);
    });
  }).catch(function (err) {
    DF.message(err.message);
    box.innerHTML = '';
  });
})();

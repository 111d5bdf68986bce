/* Where Alipay sends the buyer back: /order/return?<signed parameters>.
 * GET /api/order/return with the same query says whether the order is
 * paid; while it waits, a logged-in buyer's order is checked a few times. */
(function () {
  'use strict';
  var result = document.getElementById('result');
  var REASON = { bad_signature: '支付结果校验失败', trade_closed: '交易已关闭', cancelled: '订单已超时取消' };

  function show(kind, title, detail) {
    result.className = 'pay-result ' + kind;
    result.innerHTML = '<strong class="title"></strong><span class="detail muted"></span>';
    result.querySelector('.title').textContent = title;
    result.querySelector('.detail').textContent = detail ? ' ' + detail : '';
  }

  function check(id, left) {
    if (left <= 0) return;
    setTimeout(function () {
      DF.api('POST', '/order/check', { order_id: id }).then(function (a) {
        if (a.res === 3) show('paid', '支付成功', '订单号：' + id);
        else if (a.res === 5) check(id, left - 1);
      }, function () { check(id, left - 1); });
    }, 2000);
  }

  DF.header();
  DF.api('GET', '/api/order/return' + location.search).then(function (a) {
    var id = typeof a.order_id === 'string' ? a.order_id : '';
    if (a.res === 3) {
      show('paid', '支付成功', id ? '订单号：' + id : '');
    } else if (a.res === 5) {
      show('waiting', '等待支付', (id ? '订单号：' + id + '，' : '') + '支付结果确认中，请稍后查看订单状态');
      if (id) DF.user().then(function (u) { if (u) check(id, 15); });
    } else {
      show('failed', a.errmsg || '支付失败', REASON[a.reason] || '');
      DF.message(a.errmsg || '支付失败');
    }
  }).catch(function (err) {
    show('failed', '无法确认支付结果', '请到我的订单中查看');
    DF.message(err.message);
  });
})();

/* Comment an order's goods: /order/comment/<order_id>
 * (GET /api/orders/<id>, POST /order/comment/<id>). */
(function () {
  'use strict';
  var esc = DF.esc;
  var box = document.getElementById('comment');
  var orderId = '';
  try { orderId = decodeURIComponent(DF.pathPart(2)); } catch (e) { orderId = ''; }

  function toLogin() {
    location.href = '/user/login?next=' + encodeURIComponent(location.pathname + location.search);
  }

  function render(o) {
    var open = Number(o.status) === 4;
    var items = o.items || [];
    box.innerHTML =
      '<p class="order-head"><span>' + esc(o.create_time) + '</span> <span>订单号：' + esc(o.order_id) + '</span> ' +
      '<span class="status-name">' + esc(o.status_name) + '</span></p>' +
      '<form id="comment-form" class="comment-form">' + items.map(function (it, i) {
        var n = i + 1;
        return '<div class="comment-item card">' +
          '<div class="comment-goods"><img class="thumb" src="' + esc(DF.image(it.image)) + '" alt="">' +
          '<a href="/goods/' + encodeURIComponent(it.sku_id) + '">' + esc(it.name) + '</a>' +
          '<span class="muted">¥' + esc(it.price) + ' × ' + esc(it.count) + '</span></div>' +
          '<input type="hidden" name="sku_' + n + '" value="' + esc(it.sku_id) + '">' +
          (open ? '<label for="content_' + n + '">评价内容</label>' +
            '<textarea id="content_' + n + '" name="content_' + n + '" rows="3" maxlength="256" placeholder="说说你的感受（最多256字）"></textarea>'
            : '<p>' + (it.comment ? esc(it.comment) : '<span class="muted">未评价</span>') + '</p>') +
          '</div>';
      }).join('') +
      (open ? '<p><button type="submit" id="submit">提交评价</button></p>' : '') + '</form>' +
      '<p><a href="/user/order/1">返回我的订单</a></p>';
    if (!open) DF.message('该订单当前状态为「' + (o.status_name || '未知') + '」，不能评价', 'info');
    else document.getElementById('comment-form').addEventListener('submit', function (e) {
      e.preventDefault();
      submit(items.length);
    });
  }

  function submit(total) {
    var btn = document.getElementById('submit');
    var form = document.getElementById('comment-form');
    var data = { total_count: total };
    for (var n = 1; n <= total; n++) {
      data['sku_' + n] = form.elements['sku_' + n].value;
      data['content_' + n] = form.elements['content_' + n].value.trim();
      if (data['content_' + n].length > 256) { DF.message('第 ' + n + ' 件商品的评价超过 256 字'); return; }
    }
    btn.disabled = true;
    DF.api('POST', '/order/comment/' + encodeURIComponent(orderId), data).then(function (a) {
      if (a.res === 5) {
        DF.message(a.message || '评论成功', 'info');
        location.href = '/user/order/1';
        return;
      }
      btn.disabled = false;
      if (a.res === 0) return toLogin();
      DF.message((a.errmsg || '评论失败') + (a.index ? '（第 ' + a.index + ' 件商品）' : ''));
    }).catch(function (err) {
      btn.disabled = false;
      DF.message(err.message);
    });
  }

  DF.header();
  DF.requireLogin().then(function (u) {
    if (!u) return null;
    if (!orderId) throw new Error('订单不存在');
    return DF.api('GET', '/api/orders/' + encodeURIComponent(orderId)).then(function (a) {
      if (a.res === 0) return toLogin();
      if (a.res !== 5 || !a.order) throw new Error(a.errmsg || '订单不存在');
      render(a.order);
    });
  }).catch(function (err) {
    DF.message(err.message);
    box.innerHTML = '<p><a href="/user/order/1">返回我的订单</a></p>';
  });
})();

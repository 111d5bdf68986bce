/* One SKU: /goods/<id> (GET /api/goods/<id>). Quantity within 1..stock,
 * the exact total, add to cart (POST /cart/add). */
(function () {
  'use strict';
  var esc = DF.esc;
  var skuId = DF.pathIds()[0];
  var sku = null, priceCents = 0, stock = 0, qty = 1;

  function link(s) {
    return '<a href="/goods/' + encodeURIComponent(s.id) + '">' + esc(s.name) + '</a>';
  }

  /* The SPU's detail is rich text from the admin: shown as plain text. */
  function plainText(html) {
    try { return new DOMParser().parseFromString(String(html || ''), 'text/html').body.textContent || ''; }
    catch (e) { return String(html || ''); }
  }

  function render(a) {
    sku = a.sku; stock = Number(sku.stock) || 0; priceCents = DF.cents(sku.price);
    qty = stock > 0 ? 1 : 0;
    var type = a.type || {};
    document.title = '天天生鲜-' + sku.name;
    document.getElementById('breadcrumb').innerHTML = '<a href="/">全部分类</a> &gt; <a href="/list/' +
      encodeURIComponent(type.id) + '/1">' + esc(type.name) + '</a> &gt; 商品详情';
    var others = (a.same_spu_skus || []).filter(function (s) { return s.id !== sku.id; });
    var comments = a.comments || [];
    document.getElementById('detail').innerHTML =
      '<div class="detail-top">' +
        '<div class="detail-image"><img src="' + esc(DF.image(sku.image)) + '" alt="' + esc(sku.name) + '"></div>' +
        '<div class="detail-info">' +
          '<h1 id="name">' + esc(sku.name) + '</h1>' +
          '<p class="muted">' + esc(sku.desc) + '</p>' +
          '<p class="detail-price">¥<em id="price" class="price">' + esc(sku.price) + '</em> <span class="muted">单位：' + esc(sku.unite) + '</span></p>' +
          '<p class="muted">库存：<span id="stock">' + esc(stock) + '</span> · 销量：' + esc(sku.sales) + '</p>' +
          (others.length ? '<p class="same-spu">其他规格：' + others.map(link).join(' ') + '</p>' : '') +
          '<div class="detail-qty"><span>数量：</span><span class="qty">' +
            '<button type="button" id="dec" class="secondary" aria-label="减少">-</button>' +
            '<input type="number" id="qty" min="1" max="' + esc(stock) + '" step="1" value="' + qty + '" inputmode="numeric" aria-label="数量">' +
            '<button type="button" id="inc" class="secondary" aria-label="增加">+</button></span></div>' +
          '<p class="detail-total">总价：¥<em id="total" class="price"></em></p>' +
          '<p><button type="button" id="add-to-cart">加入购物车</button> <a class="button secondary" href="/cart/">去购物车</a></p>' +
        '</div>' +
      '</div>' +
      '<div class="detail-bottom">' +
        '<aside class="new-goods"><h2>新品推荐</h2>' + ((a.new_skus || []).map(function (s) {
          return '<div class="new-sku card"><a href="/goods/' + encodeURIComponent(s.id) + '"><img src="' + esc(DF.image(s.image)) +
            '" alt="' + esc(s.name) + '" loading="lazy"></a><h3>' + link(s) + '</h3><div class="meta">¥<span class="price">' + esc(s.price) + '</span></div></div>';
        }).join('') || '<p class="muted">暂无</p>') + '</aside>' +
        '<section class="detail-more">' +
          '<h2>商品介绍</h2><div id="goods-detail" class="goods-detail"></div>' +
          '<h2>评论 (' + comments.length + ')</h2>' +
          (comments.length ? '<ul class="comments">' + comments.map(function (c) {
            return '<li><div class="muted">' + esc(c.username) + ' · ' + esc(c.time) + '</div><div>' + esc(c.comment) + '</div></li>';
          }).join('') + '</ul>' : '<p class="muted">暂无评论</p>') +
        '</section>' +
      '</div>';
    document.getElementById('goods-detail').textContent = plainText((a.goods || {}).detail);
    if (stock < 1) {
      document.getElementById('add-to-cart').disabled = true;
      document.getElementById('add-to-cart').textContent = '暂时缺货';
    }
    bind();
    show();
  }

  function clamp(n) {
    if (stock < 1) return 0;
    if (!isFinite(n) || n < 1) return 1;
    return n > stock ? stock : Math.floor(n);
  }

  function show(keepInput) {
    if (!keepInput) document.getElementById('qty').value = String(qty);
    document.getElementById('total').textContent = DF.money(priceCents * qty);
    document.getElementById('dec').disabled = qty <= 1;
    document.getElementById('inc').disabled = qty >= stock;
  }

  function bind() {
    var input = document.getElementById('qty');
    document.getElementById('inc').addEventListener('click', function () { qty = clamp(qty + 1); show(); });
    document.getElementById('dec').addEventListener('click', function () { qty = clamp(qty - 1); show(); });
    input.addEventListener('input', function () {
      /* keep typing free; the total follows valid numbers only */
      if (/^\d+$/.test(input.value)) {
        var n = parseInt(input.value, 10);
        if (n >= 1 && n <= stock) { qty = n; show(true); }
      }
    });
    input.addEventListener('change', function () {
      var v = input.value.trim();
      qty = clamp(/^\d+$/.test(v) ? parseInt(v, 10) : 1);
      show();
    });
    document.getElementById('add-to-cart').addEventListener('click', add);
  }

  function add() {
    var btn = document.getElementById('add-to-cart');
    var input = document.getElementById('qty');
    var v = input.value.trim();
    qty = clamp(/^\d+$/.test(v) ? parseInt(v, 10) : 1);
    show();
    if (qty < 1) return;
    btn.disabled = true;
    DF.api('POST', '/cart/add', { sku_id: sku.id, count: qty }).then(function (a) {
      if (a.res === 5) {
        DF.cartCount(a.total_count);
        DF.message((a.message || '添加成功') + '，购物车共 ' + a.total_count + ' 件商品', 'info');
      } else if (a.res === 0) {
        location.href = '/user/login?next=' + encodeURIComponent(location.pathname + location.search);
      } else {
        DF.message(a.errmsg || '加入购物车失败');
      }
    }).catch(function (err) {
      DF.message(err.message);
    }).then(function () { btn.disabled = stock < 1; });
  }

  DF.header();
  if (!skuId) {
    DF.message('商品不存在');
    document.getElementById('detail').innerHTML = '';
    return;
  }
  DF.api('GET', '/api/goods/' + skuId).then(function (a) {
    if (!a || !a.sku) throw new Error((a && (a.errmsg || a.error)) || '商品不存在');
    render(a);
  }).catch(function (err) {
    DF.message(err.message === 'goods not found' ? '商品不存在或已下架' : err.message);
    document.getElementById('detail').innerHTML = '<p><a href="/">返回首页</a></p>';
  });
})();

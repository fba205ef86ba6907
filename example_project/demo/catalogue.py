"""A small apparel catalogue in Oscar: one product class, three categories, eight products.

Everything is found by a stable key (slug, UPC, partner code) before it is created, so loading
twice changes nothing.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from django.db import transaction
from oscar.core.loading import get_model

Category = get_model("catalogue", "Category")
Country = get_model("address", "Country")
Partner = get_model("partner", "Partner")
Product = get_model("catalogue", "Product")
ProductCategory = get_model("catalogue", "ProductCategory")
ProductClass = get_model("catalogue", "ProductClass")
ProductRecommendation = get_model("catalogue", "ProductRecommendation")
StockRecord = get_model("partner", "StockRecord")

PRODUCT_CLASS = ("apparel", "アパレル")
PARTNER = ("komorebi", "こもれび洋品店 倉庫")
#: (slug, name). Slugs are ASCII on purpose: Oscar would reduce a Japanese name to an empty slug.
CATEGORIES = [("tops", "トップス"), ("bottoms", "ボトムス"), ("shoes", "シューズ")]


@dataclass(frozen=True)
class DemoProduct:
    upc: str
    slug: str
    title: str
    category: str  # a slug from CATEGORIES
    price: int  # yen, tax included (the demo runs Oscar's NoTax strategy)
    description: str


PRODUCTS = [
    DemoProduct(
        "KMR-T001", "linen-shirt", "リネンシャツ", "tops", 6900,
        "<p>フレンチリネン100%。洗うほどに柔らかくなり、春から秋まで長く着られる定番シャツです。</p>",
    ),
    DemoProduct(
        "KMR-T002", "organic-cotton-tee", "オーガニックコットンTシャツ", "tops", 3900,
        "<p>肌ざわりのよいオーガニックコットン。一枚でもインナーでも使える、ほどよい厚みです。</p>",
    ),
    DemoProduct(
        "KMR-T003", "wool-cardigan", "ウールニットカーディガン", "tops", 9800,
        "<p>ミドルゲージのウールニット。シャツの上にさっと羽織れる、軽くて暖かい一枚です。</p>",
    ),
    DemoProduct(
        "KMR-B001", "denim-pants", "デニムパンツ", "bottoms", 7900,
        "<p>ワンウォッシュのストレートデニム。はき込むほど自分の形になじみます。</p>",
    ),
    DemoProduct(
        "KMR-B002", "wide-chino-pants", "ワイドチノパンツ", "bottoms", 6500,
        "<p>太すぎないワイドシルエット。きれいめにもカジュアルにも合わせられます。</p>",
    ),
    DemoProduct(
        "KMR-B003", "linen-easy-pants", "リネンイージーパンツ", "bottoms", 5900,
        "<p>ウエストゴムで一日中らくちん。リネンシャツと合わせたセットアップも人気です。</p>",
    ),
    DemoProduct(
        "KMR-S001", "canvas-sneakers", "キャンバススニーカー", "shoes", 5500,
        "<p>オフホワイトのローカット。どんな服にも合わせやすく、旅行にも頼れる一足です。</p>",
    ),
    DemoProduct(
        "KMR-S002", "leather-loafers", "レザーローファー", "shoes", 12800,
        "<p>やわらかな牛革のローファー。デニムの日も、少しきちんとしたい日にも。</p>",
    ),
]

STOCK_PER_PRODUCT = 50

#: Oscar's "recommended products" (what goes with what, best first): the products block of the
#: mails suggests these to buyers of the first product.
RECOMMENDATIONS = {
    "linen-shirt": ["linen-easy-pants", "denim-pants", "leather-loafers"],
    "organic-cotton-tee": ["wide-chino-pants", "canvas-sneakers"],
    "wool-cardigan": ["denim-pants", "leather-loafers"],
}


@dataclass
class Catalogue:
    """What the mail content links to."""

    categories: dict[str, object]  # slug -> Category
    products: dict[str, object]  # slug -> Product


@transaction.atomic
def load_catalogue(log=print) -> Catalogue:
    """Create what is missing of the demo catalogue; leave what exists alone."""
    ensure_japan()
    product_class, created = ProductClass.objects.get_or_create(
        slug=PRODUCT_CLASS[0],
        defaults={"name": PRODUCT_CLASS[1], "requires_shipping": True, "track_stock": True},
    )
    _report(log, "product class", product_class.name, created)
    partner, created = Partner.objects.get_or_create(code=PARTNER[0], defaults={"name": PARTNER[1]})
    _report(log, "partner", partner.name, created)

    categories = {}
    for slug, name in CATEGORIES:
        category = Category.objects.filter(depth=1, slug=slug).first()
        created = category is None
        if created:
            category = Category.add_root(name=name, slug=slug, is_public=True)
        categories[slug] = category
        _report(log, "category", name, created)

    products = {}
    for spec in PRODUCTS:
        product, created = Product.objects.get_or_create(
            upc=spec.upc,
            defaults={
                "title": spec.title,
                "slug": spec.slug,
                "description": spec.description,
                "product_class": product_class,
                "structure": Product.STANDALONE,
                "is_public": True,
            },
        )
        ProductCategory.objects.get_or_create(product=product, category=categories[spec.category])
        StockRecord.objects.get_or_create(
            product=product,
            partner=partner,
            defaults={
                "partner_sku": spec.upc,
                "price_currency": "JPY",
                "price": Decimal(spec.price),
                "num_in_stock": STOCK_PER_PRODUCT,
            },
        )
        products[spec.slug] = product
        _report(log, "product", f"{spec.title} ¥{spec.price:,}", created)

    for slug, recommended in RECOMMENDATIONS.items():
        for ranking, other in enumerate(recommended):
            _recommendation, created = ProductRecommendation.objects.get_or_create(
                primary=products[slug], recommendation=products[other],
                defaults={"ranking": len(recommended) - ranking},
            )
            _report(log, "recommendation", f"{products[slug].title} → {products[other].title}", created)
    return Catalogue(categories=categories, products=products)


def ensure_japan():
    """Oscar ships no countries; checkout needs at least one shipping country."""
    country, _created = Country.objects.get_or_create(
        iso_3166_1_a2="JP",
        defaults={
            "iso_3166_1_a3": "JPN",
            "iso_3166_1_numeric": "392",
            "printable_name": "日本",
            "name": "日本国",
            "display_order": 1,
            "is_shipping_country": True,
        },
    )
    return country


def _report(log, kind: str, name: str, created: bool) -> None:
    log(f"  {'created' if created else 'exists '} {kind}: {name}")

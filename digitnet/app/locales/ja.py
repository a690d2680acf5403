"""日本語: the app's texts in Japanese.

Terms follow Japanese machine-learning textbooks: 順伝播, 誤差逆伝播法, 活性化関数,
重み, バイアス, 隠れ層, 出力層, 学習率, エポック, ミニバッチ, 交差エントロピー, 罰則項
(L2 正則化), 混同行列, 勾配確認. A half-width space separates Japanese from Latin words
and numbers (MNIST のテスト), as in most Japanese technical writing.
"""

from __future__ import annotations

NAME = "日本語"


def plural(n: int) -> str:
    return "other"  # Japanese nouns have no plural form


TEXTS: dict[str, str | dict[str, str]] = {
    # ------------------------------------------------------------ the page
    "app.page_title": "digitnet：数字を手書きしよう",
    "app.tagline": "NumPy だけでゼロから書いたニューラルネットワークが、あなたの手書き数字を読みます。",
    "app.language": "言語",
    "tab.draw": "描く",
    "tab.explore": "探る",
    "tab.how": "しくみ",
    "tab.train": "学習",
}

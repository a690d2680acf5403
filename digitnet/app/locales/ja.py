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
    # ------------------------------------------------------------ しくみ
    "how.heading": "記事の数式と、それを計算するコード",
    "how.intro": "それぞれの数式のそばに、それを計算している digitnet のコードをファイル名と行番号つきで示します。コードは、いまこのページを動かしているプログラムから直接読み出したものです。記法：層の重み W は行が入力、列がユニットに対応し、ミニバッチは 1 行が 1 枚の画像です。",
    "how.others": "digitnet で選べるほかの活性化関数：ReLU、ソフトマックス",
    "how.used": "いま答えているモデルが使用中",
    "how.not_found": "この数式のコードが見つかりませんでした（`{error}`）。",
    "how.line": "`{path}` の {first} 行目（`{name}`）",
    "how.lines": "`{path}` の {first}〜{last} 行目（`{name}`）",
    "how.label.cross_entropy": "交差エントロピー",
    "how.label.penalty": "L2 正則化の罰則項",
    "how.forward.title": "順伝播",
    "how.forward.text": "各層は、前の層の活性に重みを掛けてバイアスを足し、活性化関数 φ を適用します。ミニバッチは 1 行に 1 枚の画像を並べた行列なので、1 回の行列積でミニバッチ内の画像すべてをまとめて計算できます。",
    "how.sigmoid.title": "活性化関数：シグモイド関数",
    "how.sigmoid.text": "配列をその場で書き換えながら一段ずつ計算します。クリップ（記事と同じく、e^−z がオーバーフローしないように）、符号反転、指数関数、1 を足す、逆数の順です。",
    "how.sigmoid.differs": "記事に載っている数式の一つでは、シグモイド関数がマイナス符号のない 1 / (1 + e^z) と書かれています。正しくは 1 / (1 + e^−z) で、記事のコードも digitnet もこちらを計算しています（`np.exp` の前に `np.negative`）。",
    "how.sigmoid_derivative.title": "シグモイド関数の微分",
    "how.sigmoid_derivative.text": "順伝播ですでに計算してある活性 a = φ(z) で表せるので、誤差逆伝播では z が要りません。",
    "how.cost.title": "コスト関数 J(W)",
    "how.cost.text": "10 個のシグモイド出力と one-hot ラベルとの二値交差エントロピーを全画像について足し合わせ、重み（バイアスは除く）に対する L2 正則化の罰則項を加えたものです。digitnet は交差エントロピーを z から softplus(z) − y·z として計算します。値は同じですが、ユニットが飽和しても無限大になりません。",
    "how.cost.differs": "記事の本文ではコスト関数の罰則項に λ/2 が付いていますが、記事のコードは ½ なしで罰則項を計算し、それでいて重みの更新には λ/2·‖W‖² の勾配である λW を使っています。digitnet は ½ を残し、コスト関数とその勾配が一致するようにしています。コードの λ のままだとどうなるかは、下の勾配確認で確かめられます。",
    "how.output_error.title": "出力層の誤差",
    "how.output_error.text": "シグモイド出力とこのコスト関数（あるいはソフトマックス出力と交差エントロピー）の組み合わせでは、出力層の z による J の微分は、単に出力から one-hot ラベルを引いたものになります。",
    "how.hidden_error.title": "隠れ層の誤差",
    "how.hidden_error.text": "誤差は同じ重みを転置したものを通って逆向きに伝わり、各隠れユニットの活性化関数の傾きが掛けられます（⊙ は要素ごとの積）。",
    "how.weight_gradient.title": "重みの勾配",
    "how.weight_gradient.text": "記事と同じく、行列積によってミニバッチ全体の和をとり、罰則項の勾配を加えます。",
    "how.bias_gradient.title": "バイアスの勾配",
    "how.bias_gradient.text": "バイアスには罰則項をかけません。",
    "how.update.title": "パラメータの更新",
    "how.update.text": "学習率 η による素朴な勾配降下法で、すべての重み行列とバイアスベクトルをその場で更新します（`digitnet.optimizers` にはモーメンタム、Nesterov、Adam もあります）。",
    "how.relu.title": "ReLU とその微分",
    "how.softmax.title": "ソフトマックス出力",
    "how.softmax.text": "exp がオーバーフローしないよう、最大の z を引いてから計算します。交差エントロピーと組み合わせると出力層の誤差はやはり a − y になるので、同じ逆伝播の処理がどちらにも使えます。",
    "how.check.heading": "勾配は正しいか？ 数値による勾配確認",
    "how.check.intro": "各層のいくつかの重みとバイアスについて、誤差逆伝播法で求めた J の微分を、J の傾きを直接測った値 (J(w + ε) − J(w − ε)) / 2ε と比べます。MNIST のテスト画像 {batch} 枚を使い、{model}を float64 に変換したコピーで、float64 で計算します（float32 では J の差のほとんどが丸め誤差になってしまいます）。",
    "how.check.article": "記事のコードのコスト関数を使う（λ·Σ‖W‖²、½ なし）",
    "how.check.article_help": "記事のコードは ½ なしで罰則項を計算しますが、更新には λW を使います。そのためコスト関数と更新が食い違い、この勾配確認でそれがはっきりわかります。",
    "how.check.again": "別の重みで確認する",
    "how.check.parameter": "パラメータ",
    "how.check.backprop": "誤差逆伝播法",
    "how.check.differences": "差分近似",
    "how.check.relative_error": "相対誤差",
    "how.check.lambda": "λ = {lam:g}",
    "how.check.lambda_article": "λ = {lam:g}（記事の値：このモデルには L2 正則化がありません）",
    "how.check.caption": "{lam}、ε = 1e-4、バッチ：{batch}。相対誤差は |逆伝播 − 差分近似| を二つのうち大きいほうで割ったものです。層 0 は、画素と最初の隠れ層をつなぐ層です。",
    "how.check.random_pixels": "ランダムな画素（MNIST が見つかりません）",
    "how.check.test_digits": "テスト画像 {first} ほか",
    "how.check.right": "最大の相対誤差は {worst:.1e}：誤差逆伝播法は J の勾配を正しく計算しています。",
    "how.check.rounding": "最大の相対誤差は {worst:.1e}：丸め誤差の範囲で一致しています（入力が 0 から ε 以内にある ReLU は、差分の区間の中で折れ曲がるため、そのぶん桁が失われます）。",
    "how.check.wrong": "最大の相対誤差は {worst:.1e}：このコスト関数の微分は、逆伝播が計算しているものと一致しません。",
    "how.check.wrong_article": "最大の相対誤差は {worst:.1e}：このコスト関数の微分は、逆伝播が計算しているものと一致しません。コスト関数には λ·Σ‖W‖² があり、その勾配は 2λW ですが、更新には λW が使われています。そのため重みはずれ、罰則項のないバイアスは一致したままです。",
    # ------------------------------------------------------------ モデル
    "app.two": "{first}{second}",
    "model.shipped": "付属の学習済み重み（{facts}）",
    "model.shipped_failed": "付属の重みを使えません：`{detail}`",
    "model.uploaded": "アップロードされた {name}（{facts}）",
    "model.run": "あなたの学習 #{run}（{preset}）の {epoch:.1f} / {epochs} エポック時点のネットワーク",
    "model.run_training": "あなたの学習 #{run}（{preset}）の {epoch:.1f} / {epochs} エポック時点のネットワーク（学習中）",
    "model.taught": "{base}にあなたの手書き {count} 枚を教えたネットワーク（MNIST テストデータで {accuracy:.2%}）",
    "model.base.shipped": "付属の重み",
    "model.base.trained": "ここで学習したネットワーク",
    "model.base.uploaded": "アップロードされた重み",
    "model.epochs": "{count} エポック",
    "model.accuracy": "MNIST テストデータで {accuracy:.2%}",
    "model.no_trained": "ここで学習したモデルはまだありません（「学習」タブで始められます）。付属の重みが答えます。",
    "model.no_taught": "まだ何も教えていません（間違った答えを正してから「教える」を押してください）。付属の重みが答えます。",
    "model.no_uploaded": "使える重みファイルがアップロードされていません。付属の重みが答えます。",
}

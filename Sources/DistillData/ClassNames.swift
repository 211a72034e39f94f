/// The class names of the built-in data sets, in label order, as their authors publish them.
public enum ClassNames {
    /// Xiao, Rasul & Vollgraf 2017 (the Fashion-MNIST README's label table).
    public static let fashionMNIST = ["T-shirt/top", "Trouser", "Pullover", "Dress", "Coat",
                                      "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot"]
    /// Clanuwat et al. 2018 (the romanised hiragana of `kmnist_classmap.csv`).
    public static let kmnist = ["o", "ki", "su", "tsu", "na", "ha", "ma", "ya", "re", "wo"]
    /// Krizhevsky 2009 (`batches.meta.txt` of the binary version).
    public static let cifar10 = ["airplane", "automobile", "bird", "cat", "deer", "dog", "frog", "horse", "ship", "truck"]
}
